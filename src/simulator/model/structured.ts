import type { Conversation } from './conversation.ts';
import { valueForSchema } from './schema-value.ts';

/** Scanning stops after this many `{` so a huge prompt without a schema stays cheap. */
const MAX_STARTS = 64;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function looksLikeSchema(v: unknown): boolean {
  return isObject(v) && (isObject(v['properties']) || typeof v['type'] === 'string' || typeof v['$ref'] === 'string');
}

/** End (exclusive) of the balanced `{…}` starting at `start`, skipping braces inside JSON strings. */
function balancedEnd(text: string, start: number): number | undefined {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i + 1;
  }
  return undefined;
}

/**
 * The first JSON Schema written into `text` (an object with `properties`, `type` or `$ref`), as
 * callers of JSON mode do ("answer with JSON matching this schema: {…}"); undefined when none.
 */
export function schemaInText(text: string): unknown {
  let from = 0;
  for (let n = 0; n < MAX_STARTS; n++) {
    const start = text.indexOf('{', from);
    if (start < 0) return undefined;
    const end = balancedEnd(text, start);
    if (end === undefined) return undefined;
    try {
      const value: unknown = JSON.parse(text.slice(start, end));
      if (looksLikeSchema(value)) return value;
      from = end;
    } catch {
      from = start + 1;
    }
  }
  return undefined;
}

/**
 * The JSON text a structured answer consists of, or undefined for a text answer. `json_schema`
 * gets a value fitting the schema; `json_object` one fitting a schema found in the instructions
 * or the last user message (as a model reads it there), else `{"answer": text}`; a prefill
 * starting with `{` asks for a JSON object too.
 */
export function structuredText(conv: Conversation, text: string): string | undefined {
  const output = conv.output ?? { kind: 'text' };
  if (output.kind === 'text' && !(conv.prefill ?? '').trimStart().startsWith('{')) return undefined;
  if (output.kind === 'json_schema') return JSON.stringify(valueForSchema(output.schema));
  const schema = schemaInText(conv.instructions ?? '') ?? schemaInText(conv.lastUserText);
  if (schema !== undefined) {
    const value = valueForSchema(schema);
    if (isObject(value)) return JSON.stringify(value);
  }
  return JSON.stringify({ answer: text });
}
