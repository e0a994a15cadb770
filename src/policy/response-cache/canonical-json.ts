/**
 * Canonical JSON text of a parsed JSON value, per RFC 8785 (JSON Canonicalization Scheme):
 * object members sorted by key in UTF-16 code-unit order, no whitespace, strings escaped and
 * numbers written as ECMAScript's JSON.stringify does (so `1`, `1.0` and `1e0`, all parsed to
 * the same double, are written `1`; `-0` is `0`). Equal JSON values give equal text whatever
 * the member order or number spelling of the bytes they were parsed from.
 *
 * Input: what JSON.parse returns (objects, arrays, strings, finite numbers, booleans, null).
 * `undefined` members are skipped like JSON.stringify does; non-finite numbers throw a
 * TypeError (they cannot come from JSON.parse).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${value} is not a JSON number`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    // Default sort compares UTF-16 code units, which is RFC 8785's order.
    const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  throw new TypeError(`canonicalJson: a ${typeof value} is not a JSON value`);
}
