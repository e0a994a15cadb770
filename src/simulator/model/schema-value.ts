/** JSON value produced for a tool call. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

type Schema = Record<string, unknown>;

const MAX_DEPTH = 12;
const STRING_CANDIDATES = ['sim', 'a', 'A', '1', 'abc', 'ABC', 'a1', 'sim_value', 'sim-value', 'value', '2025-01-01'];

function isSchema(v: unknown): v is Schema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/**
 * A deterministic value that satisfies `schema` for the common JSON Schema keywords
 * (type, enum, const, properties/required, items/prefixItems, $ref, anyOf/oneOf/allOf, numeric and
 * length bounds, format, simple patterns), also accepting Gemini's upper-case OpenAPI types.
 */
export function valueForSchema(schema: unknown): JsonValue {
  return generate(schema, schema, 'value', 0, 0);
}

function resolveRef(ref: string, root: unknown): unknown {
  if (!ref.startsWith('#')) return {};
  let node: unknown = root;
  for (const raw of ref.slice(1).split('/').filter((s) => s.length > 0)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    node = isSchema(node) ? node[key] : undefined;
  }
  return node ?? {};
}

function mergeAllOf(s: Schema): Schema {
  const parts = Array.isArray(s['allOf']) ? s['allOf'].filter(isSchema) : [];
  const merged: Schema = { ...s };
  delete merged['allOf'];
  const props: Schema = isSchema(s['properties']) ? { ...s['properties'] } : {};
  const required = new Set<string>(Array.isArray(s['required']) ? s['required'].filter((r): r is string => typeof r === 'string') : []);
  for (const p of parts) {
    for (const [k, v] of Object.entries(p)) {
      if (k === 'properties' && isSchema(v)) Object.assign(props, v);
      else if (k === 'required' && Array.isArray(v)) v.forEach((r) => typeof r === 'string' && required.add(r));
      else if (!(k in merged)) merged[k] = v;
    }
  }
  if (Object.keys(props).length > 0) merged['properties'] = props;
  if (required.size > 0) merged['required'] = [...required];
  return merged;
}

function pickType(s: Schema): string {
  const t = s['type'];
  const list = (Array.isArray(t) ? t : [t]).filter((x): x is string => typeof x === 'string').map((x) => x.toLowerCase());
  const nonNull = list.find((x) => x !== 'null');
  if (nonNull !== undefined) return nonNull;
  if (list.length > 0) return s['nullable'] === true ? 'string' : 'null';
  if (isSchema(s['properties']) || Array.isArray(s['required'])) return 'object';
  if (s['items'] !== undefined || s['prefixItems'] !== undefined) return 'array';
  return 'string';
}

function generate(schema: unknown, root: unknown, key: string, depth: number, variant: number): JsonValue {
  if (!isSchema(schema) || depth > MAX_DEPTH) return depth > MAX_DEPTH ? null : stringFor({}, key, variant);
  let s = schema;
  if (typeof s['$ref'] === 'string') return generate(resolveRef(s['$ref'], root), root, key, depth + 1, variant);
  if ('const' in s) return s['const'] as JsonValue;
  if (Array.isArray(s['enum']) && s['enum'].length > 0) return s['enum'][variant % s['enum'].length] as JsonValue;
  for (const k of ['anyOf', 'oneOf'] as const) {
    const opts = s[k];
    if (Array.isArray(opts) && opts.length > 0) {
      const pick = opts.find((o) => !(isSchema(o) && o['type'] === 'null')) ?? opts[0];
      return generate(pick, root, key, depth + 1, variant);
    }
  }
  if (Array.isArray(s['allOf'])) s = mergeAllOf(s);
  switch (pickType(s)) {
    case 'object':
      return objectFor(s, root, depth);
    case 'array':
      return arrayFor(s, root, key, depth);
    case 'integer':
      return numberFor(s, variant, true);
    case 'number':
      return numberFor(s, variant, false);
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return stringFor(s, key, variant);
  }
}

function objectFor(s: Schema, root: unknown, depth: number): JsonValue {
  const props = isSchema(s['properties']) ? s['properties'] : {};
  const required = Array.isArray(s['required']) ? s['required'].filter((r): r is string => typeof r === 'string') : [];
  const keys = depth < 4 ? [...new Set([...Object.keys(props), ...required])] : required;
  const out: { [key: string]: JsonValue } = {};
  for (const k of keys) out[k] = generate(props[k] ?? {}, root, k, depth + 1, 0);
  return out;
}

function arrayFor(s: Schema, root: unknown, key: string, depth: number): JsonValue {
  const prefix = Array.isArray(s['prefixItems']) ? s['prefixItems'] : Array.isArray(s['items']) ? s['items'] : [];
  const min = num(s['minItems']) ?? 1;
  const max = num(s['maxItems']);
  const count = Math.max(prefix.length, max === undefined ? min : Math.min(min, max));
  const itemSchema = isSchema(s['items']) ? s['items'] : {};
  const out: JsonValue[] = [];
  for (let i = 0; i < count; i++) out.push(generate(prefix[i] ?? itemSchema, root, key, depth + 1, i));
  return out;
}

function numberFor(s: Schema, variant: number, integer: boolean): number {
  const exMinRaw = s['exclusiveMinimum'];
  const exMaxRaw = s['exclusiveMaximum'];
  const minimum = num(s['minimum']);
  const maximum = num(s['maximum']);
  const step = num(s['multipleOf']);
  const tiny = integer ? 1 : step ?? 0.5;
  let lo = minimum ?? -Infinity;
  let hi = maximum ?? Infinity;
  if (num(exMinRaw) !== undefined) lo = Math.max(lo, (num(exMinRaw) ?? 0) + tiny);
  else if (exMinRaw === true && minimum !== undefined) lo = minimum + tiny;
  if (num(exMaxRaw) !== undefined) hi = Math.min(hi, (num(exMaxRaw) ?? 0) - tiny);
  else if (exMaxRaw === true && maximum !== undefined) hi = maximum - tiny;
  let v = (integer ? 1 : 1.5) + variant;
  if (v < lo) v = lo;
  if (v > hi) v = hi;
  if (integer) v = Math.ceil(v) <= hi ? Math.ceil(v) : Math.floor(v);
  if (step !== undefined && step > 0) {
    const up = Math.ceil(v / step) * step;
    v = up <= hi ? up : Math.floor(v / step) * step;
  }
  return v;
}

const FORMATS: Record<string, string> = {
  'date-time': '2025-01-01T00:00:00Z',
  date: '2025-01-01',
  time: '00:00:00Z',
  email: 'sim@example.com',
  uri: 'https://example.com/sim',
  url: 'https://example.com/sim',
  hostname: 'example.com',
  ipv4: '127.0.0.1',
  ipv6: '::1',
  uuid: '00000000-0000-4000-8000-000000000000',
};

function stringFor(s: Schema, key: string, variant: number): string {
  const format = typeof s['format'] === 'string' ? FORMATS[s['format']] : undefined;
  let v = format ?? (variant === 0 ? `sim ${key}` : `sim ${key} ${variant}`);
  if (typeof s['pattern'] === 'string' && format === undefined) v = patternMatch(s['pattern'], v);
  const min = num(s['minLength']) ?? 0;
  const max = num(s['maxLength']);
  while (v.length < min) v += 'x';
  if (max !== undefined && v.length > max) v = v.slice(0, max);
  return v;
}

function patternMatch(pattern: string, preferred: string): string {
  let re: RegExp;
  try {
    re = new RegExp(pattern, 'u');
  } catch {
    return preferred;
  }
  return [preferred, ...STRING_CANDIDATES].find((c) => re.test(c)) ?? preferred;
}
