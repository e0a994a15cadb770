import type { OutputFormat } from '../../model/conversation.ts';
import type { BodyReply } from '../../reply.ts';
import { asInt, asString, isObject, type JsonObject } from '../../unknown.ts';
import { openaiBadRequest } from './errors.ts';

/** What the request asks the answer to look like: `response_format` and `n`. */
export interface OpenAIOutput {
  readonly output: OutputFormat;
  readonly choices: number;
}

/** The API's bounds for `n` (https://platform.openai.com/docs/api-reference/chat/create). */
const MAX_N = 128;

function responseFormat(format: unknown): OutputFormat | BodyReply {
  if (format === undefined || format === null) return { kind: 'text' };
  if (!isObject(format)) return openaiBadRequest("Invalid type for 'response_format': expected an object.", 'response_format', 'invalid_type');
  switch (format['type']) {
    case 'text':
      return { kind: 'text' };
    case 'json_object':
      return { kind: 'json_object' };
    case 'json_schema': {
      const spec = format['json_schema'];
      if (!isObject(spec)) {
        return openaiBadRequest("Missing required parameter: 'response_format.json_schema'.", 'response_format.json_schema', 'missing_required_parameter');
      }
      if (asString(spec['name']) === undefined) {
        return openaiBadRequest("Missing required parameter: 'response_format.json_schema.name'.", 'response_format.json_schema.name', 'missing_required_parameter');
      }
      // The schema is optional in the API; without one any JSON object will do.
      return isObject(spec['schema']) ? { kind: 'json_schema', schema: spec['schema'] } : { kind: 'json_object' };
    }
    default:
      return openaiBadRequest(
        `Invalid value: '${String(format['type'])}'. Supported values are: 'text', 'json_object', and 'json_schema'.`,
        'response_format.type',
        'invalid_value',
      );
  }
}

/** Validates `response_format` and `n` the way the chat-completions API does. */
export function parseOpenAIOutput(body: JsonObject): OpenAIOutput | BodyReply {
  const output = responseFormat(body['response_format']);
  if (output.kind === 'body') return output;
  const raw = body['n'];
  const n = raw === undefined || raw === null ? 1 : asInt(raw);
  if (n === undefined) return openaiBadRequest("Invalid type for 'n': expected an integer.", 'n', 'invalid_type');
  if (n < 1) return openaiBadRequest(`Invalid 'n': integer below minimum value. Expected a value >= 1, but got ${n} instead.`, 'n', 'integer_below_min_value');
  if (n > MAX_N) return openaiBadRequest(`Invalid 'n': integer above maximum value. Expected a value <= ${MAX_N}, but got ${n} instead.`, 'n', 'integer_above_max_value');
  return { output, choices: n };
}
