import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';

/**
 * Validates gateway output against the official OpenAI schemas (a subset of openai-openapi,
 * copied from the team's shared/openai-spec into test/fixtures/openai-spec).
 */
const spec = JSON.parse(readFileSync(path.join(import.meta.dirname, '../fixtures/openai-spec/chat-completions.schema.json'), 'utf8')) as {
  components: { schemas: Record<string, unknown> };
};
/**
 * The spec still carries OpenAPI 3.0's `nullable: true`, which JSON Schema does not know (and
 * which an `enum` without null would contradict): rewrite it as `anyOf [schema, null]`.
 */
function rewriteNullable(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rewriteNullable);
  if (!node || typeof node !== 'object') return node;
  const obj: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node as Record<string, unknown>)) obj[k] = rewriteNullable(v);
  if (obj.nullable !== true) return obj;
  delete obj.nullable;
  return { anyOf: [obj, { type: 'null' }] };
}
spec.components = rewriteNullable(spec.components) as typeof spec.components;
const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
ajv.addSchema({ $id: 'openai', components: spec.components });
const cache = new Map<string, ValidateFunction>();

export type OpenAISchemaName = 'CreateChatCompletionResponse' | 'CreateChatCompletionStreamResponse' | 'ErrorResponse' | 'ListModelsResponse';

/** Returns the schema violations of `value` (empty when valid). */
export function schemaErrors(name: OpenAISchemaName, value: unknown): string[] {
  let validate = cache.get(name);
  if (!validate) {
    validate = ajv.compile({ $ref: `openai#/components/schemas/${name}` });
    cache.set(name, validate);
  }
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}
