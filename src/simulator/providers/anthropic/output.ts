import type { OutputFormat } from '../../model/conversation.ts';
import type { BodyReply } from '../../reply.ts';
import { asArray, isObject, type JsonObject } from '../../unknown.ts';
import { anthropicBadRequest } from './errors.ts';

/**
 * Structured outputs: `output_config.format` `{type: "json_schema", schema}`, or the beta's
 * top-level `output_format` of the same shape
 * (https://docs.claude.com/en/docs/build-with-claude/structured-outputs).
 */
export function parseAnthropicOutput(body: JsonObject): OutputFormat | BodyReply {
  const config = body['output_config'];
  if (config !== undefined && !isObject(config)) return anthropicBadRequest('output_config: Input should be a valid dictionary');
  const [format, path] = isObject(config) && config['format'] !== undefined ? [config['format'], 'output_config.format'] : [body['output_format'], 'output_format'];
  if (format === undefined || format === null) return { kind: 'text' };
  if (!isObject(format)) return anthropicBadRequest(`${path}: Input should be a valid dictionary`);
  if (format['type'] !== 'json_schema') return anthropicBadRequest(`${path}.type: Input should be 'json_schema'`);
  if (!isObject(format['schema'])) return anthropicBadRequest(`${path}.schema: Field required`);
  return { kind: 'json_schema', schema: format['schema'] };
}

/**
 * The text of a final assistant message (a prefill), which the model continues rather than
 * repeats; '' when the conversation ends with a user turn.
 */
export function prefillOf(messages: readonly unknown[]): string {
  const last = messages[messages.length - 1];
  if (!isObject(last) || last['role'] !== 'assistant') return '';
  const content = last['content'];
  if (typeof content === 'string') return content;
  return asArray(content)
    .filter(isObject)
    .map((b) => (b['type'] === 'text' && typeof b['text'] === 'string' ? b['text'] : ''))
    .join('');
}
