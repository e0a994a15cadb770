/** Separators for {@link formatJson}. */
export interface JsonSeparators {
  readonly colon: string;
  readonly comma: string;
}

/** `": "` after keys, `","` between items: how Gemini serialises SSE chunks. */
export const GEMINI_SSE: JsonSeparators = { colon: ': ', comma: ',' };

/** `": "` and `", "`: Python `json.dumps` defaults, as in Anthropic `partial_json` fragments. */
export const PYTHON_DUMPS: JsonSeparators = { colon: ': ', comma: ', ' };

/** Single-line JSON with the given separators (string escaping is JSON.stringify's). */
export function formatJson(value: unknown, sep: JsonSeparators): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => formatJson(v, sep)).join(sep.comma)}]`;
  const parts: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    if (v !== undefined) parts.push(`${JSON.stringify(k)}${sep.colon}${formatJson(v, sep)}`);
  }
  return `{${parts.join(sep.comma)}}`;
}
