import type { OutputFormat } from '../../model/conversation.ts';
import type { BodyReply } from '../../reply.ts';
import { asInt, asString, field, isObject, type JsonObject } from '../../unknown.ts';

/** What `generationConfig` asks the answer to look like. */
export interface GeminiOutput {
  readonly output: OutputFormat;
  readonly choices: number;
}

/**
 * `responseMimeType: application/json` with `responseJsonSchema` (JSON Schema) or `responseSchema`
 * (OpenAPI subset), and `candidateCount`
 * (https://ai.google.dev/gemini-api/docs/structured-output, https://ai.google.dev/api/generate-content#generationconfig).
 */
export function parseGeminiOutput(config: JsonObject, bad: (message: string) => BodyReply): GeminiOutput | BodyReply {
  const mime = asString(field(config, 'responseMimeType', 'response_mime_type')) ?? 'text/plain';
  const jsonSchema = field(config, 'responseJsonSchema', 'response_json_schema');
  const openApiSchema = field(config, 'responseSchema', 'response_schema');
  if (jsonSchema !== undefined && openApiSchema !== undefined) {
    return bad('* GenerateContentRequest.generation_config: only one of response_schema and response_json_schema may be set.\n');
  }
  const schema = jsonSchema ?? openApiSchema;
  if (schema !== undefined && mime !== 'application/json') {
    return bad('* GenerateContentRequest.generation_config.response_mime_type: a response schema needs response_mime_type "application/json".\n');
  }
  const raw = field(config, 'candidateCount', 'candidate_count');
  const count = raw === undefined ? 1 : asInt(raw);
  if (count === undefined || count < 1) {
    return bad(`* GenerateContentRequest.generation_config.candidate_count: must be a positive integer, got ${JSON.stringify(raw)}.\n`);
  }
  let output: OutputFormat = { kind: 'text' };
  if (mime === 'application/json') output = isObject(schema) ? { kind: 'json_schema', schema } : { kind: 'json_object' };
  return { output, choices: count };
}
