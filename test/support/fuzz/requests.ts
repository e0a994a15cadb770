import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { fuzzString, schemaArbitrary } from './schema-arbitrary.ts';

/**
 * Chat-completions request bodies for fuzzing the gateway, derived from the official OpenAI
 * request schema (test/fixtures/openai-spec): mostly valid-looking requests for the demo
 * models (with tool round trips whose arguments are JSON text), then mutated the way callers and attackers do it — a field replaced by a value of
 * the wrong type, deleted, or nested thousands of levels deep; hostile JSON Schemas in tools
 * and response_format (recursive $ref, huge enum, deep anyOf); and byte-level changes to the
 * serialised body (numbers like 1e309, duplicate keys, cut JSON, invalid UTF-8).
 */
const spec = JSON.parse(readFileSync(path.join(import.meta.dirname, '../../fixtures/openai-spec/chat-completions.schema.json'), 'utf8')) as {
  components: { schemas: Record<string, Record<string, unknown>> };
};

export const DEMO_MODELS = ['gpt-4o-mini', 'claude-sonnet-4-5', 'gemini-2.5-flash', 'chat-default'] as const;

const HUGE_ENUM = Array.from({ length: 20_000 }, (_, i) => `v${i}`);

function nest(depth: number, leaf: unknown, wrap: (inner: unknown) => unknown): unknown {
  let node = leaf;
  for (let i = 0; i < depth; i++) node = wrap(node);
  return node;
}

/** JSON Schemas that are valid, or nearly, but hard for whoever walks them. */
const hostileSchemas: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant({ $defs: { N: { type: 'object', properties: { next: { $ref: '#/$defs/N' } } } }, $ref: '#/$defs/N' }),
  fc.constant({ type: 'object', properties: { self: { $ref: '#' } } }),
  fc.constant({ type: 'object', properties: { a: { $ref: '#/properties/b' }, b: { $ref: '#/properties/a' } } }),
  fc.constant({ type: 'object', properties: { x: { type: 'string', enum: HUGE_ENUM } } }),
  fc.constantFrom(30, 70, 120, 200).map((d) => ({ type: 'object', properties: { p: nest(d, { type: 'string' }, (s) => ({ anyOf: [s, { type: 'null' }] })) } })),
  fc.constantFrom(40, 70, 100).map((d) => nest(d, { type: 'string' }, (s) => ({ type: 'object', properties: { a: s } }))),
  fc.constant({ type: 'object', properties: Object.fromEntries(Array.from({ length: 3_000 }, (_, i) => [`p${i}`, { type: 'integer' }])) }),
  fc.constant({ type: 'object', $defs: { A: { allOf: [{ $ref: '#/$defs/B' }] }, B: { allOf: [{ $ref: '#/$defs/A' }] } }, properties: { a: { $ref: '#/$defs/A' } } }),
  fc.constantFrom('http://evil.test/s.json', '#/%E0%A4%A', '#/$defs/missing', '#/properties/0/1', 'a~b', '#/~2').map((ref) => ({ type: 'object', properties: { r: { $ref: ref } } })),
  fc.constant({ type: 'object', properties: { n: { type: 'number', minimum: -1e308, maximum: 1e308, multipleOf: 1e-300 } } }),
  fc.constant({ type: 'object', properties: { '': {}, ['__proto__']: { type: 'string' }, constructor: { type: 'null' } } }),
  fc.constant({ type: 'object', properties: { t: { type: ['string', 'null', 'object'], items: true, prefixItems: [false] } } }),
  fc.constant({ type: 'object', required: 'yes', properties: [] }),
  fc.constant({ type: 'object', properties: { a: null, b: 7, c: 'x', d: [] } }),
  fc.constant({ type: 'object', allOf: 'x', anyOf: {}, oneOf: [null, 1], items: [[]], additionalProperties: 'no' }),
);

/** A random JSON Schema: typed nodes, combinators and refs, a few levels deep. */
export const randomSchema: fc.Arbitrary<Record<string, unknown>> = fc.letrec<{ schema: Record<string, unknown> }>((tie) => ({
  schema: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record(
      {
        type: fc.constantFrom('string', 'number', 'integer', 'boolean', 'null', 'object', 'array', 'date', 7),
        description: fuzzString,
        enum: fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 4 }),
        const: fc.jsonValue({ maxDepth: 1 }),
        format: fc.constantFrom('date-time', 'email', 'uri', 'x'),
        minimum: fc.double(),
      },
      { requiredKeys: ['type'] },
    ),
    fc.record({ type: fc.constant('object'), properties: fc.dictionary(fuzzString, tie('schema'), { maxKeys: 3 }), required: fc.array(fuzzString, { maxLength: 2 }) }, { requiredKeys: ['type'] }),
    fc.record({ type: fc.constant('array'), items: tie('schema') }),
    fc.record({ anyOf: fc.array(tie('schema'), { maxLength: 3 }) }),
    fc.record({ oneOf: fc.array(tie('schema'), { maxLength: 3 }) }),
    fc.record({ allOf: fc.array(tie('schema'), { maxLength: 3 }) }),
    fc.record({ $ref: fc.constantFrom('#', '#/$defs/A', '#/definitions/B', '#/properties/x', '#/$defs/A/properties/a'), $defs: fc.record({ A: tie('schema') }) }, { requiredKeys: ['$ref'] }),
    fc.record({ not: tie('schema'), additionalProperties: fc.oneof(fc.boolean(), tie('schema')) }),
  ),
})).schema;

/** What the spec's free-form JSON Schema slots (tool parameters, response_format schema) get. */
export const jsonSchemaSlot: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.constant({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }), weight: 4 },
  { arbitrary: randomSchema.map((s) => ({ type: 'object', properties: { p: s } })), weight: 3 },
  { arbitrary: randomSchema, weight: 2 },
  { arbitrary: hostileSchemas, weight: 2 },
);

export const requestFromSpec = schemaArbitrary(spec.components.schemas['CreateChatCompletionRequest']!, {
  components: spec.components.schemas,
  overrides: {
    ModelIdsShared: fc.constantFrom(...DEMO_MODELS),
    FunctionParameters: jsonSchemaSlot,
    ResponseFormatJsonSchemaSchema: jsonSchemaSlot,
  },
}).map((v) => v as Record<string, unknown>);

const deepJsonText = fc.constantFrom(300, 3_000, 20_000).map((d) => `{"a":${'['.repeat(d)}${']'.repeat(d)}}`);

/** JSON text a caller embeds in strings (tool call arguments, tool results), which translators parse. */
const embeddedJson: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.dictionary(fuzzString, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }).map((v) => JSON.stringify(v)), weight: 6 },
  { arbitrary: fc.constantFrom('', ' ', '{}', '{"city":"Paris"}', 'not json', '[1,2]', 'null', '{"a":1e309}', '{"__proto__":{"x":1}}', '{"a":1,"a":2}'), weight: 3 },
  { arbitrary: deepJsonText, weight: 1 },
);

/** A tool round trip: the assistant's call (arguments as JSON text) and the tool's answer. */
const toolConversation: fc.Arbitrary<unknown[]> = fc
  .tuple(fuzzString, embeddedJson, embeddedJson, fc.constantFrom('call_1', 'toolu_01', 'x'.repeat(200), ''))
  .map(([name, args, result, id]) => [
    { role: 'user', content: 'What is the weather?' },
    { role: 'assistant', content: null, tool_calls: [{ id, type: 'function', function: { name: name || 'get_weather', arguments: args } }] },
    { role: 'tool', tool_call_id: id, content: result },
  ]);

/**
 * Valid-looking requests: the spec's request with its optional fields thinned out (the spec
 * has ~40 of them; a request that sets them all is refused by every non-OpenAI model), and
 * as messages the spec's random ones (mostly an invalid conversation), ours (a user message or
 * a tool round trip), or both, a third of the time each.
 */
export const plausibleRequest: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(requestFromSpec, fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom('spec', 'both', 'ours'), fuzzString, fc.option(toolConversation, { freq: 4 }))
  .map(([req, keep, lead, text, toolTurns]) => {
    const out: Record<string, unknown> = {};
    const keys = Object.keys(req);
    keys.forEach((key, i) => {
      if (key === 'model' || key === 'messages' || ((i * 7919) % 100) / 100 < keep * 0.4) out[key] = req[key];
    });
    const messages = Array.isArray(req['messages']) ? req['messages'] : [];
    const ours = toolTurns ?? [{ role: 'user', content: text || 'hi' }];
    out['messages'] = lead === 'spec' ? messages : lead === 'both' ? [...ours, ...messages] : ours;
    return out;
  });

/** Values a caller may put where another type belongs. */
const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, 0, -1, 1.5, 2 ** 53, -0, 1e308, '', 'x', [], {}, [null], { type: 'function' }, { role: 'user' }, { type: 'text' }),
  fuzzString,
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(300, 2_000, 6_000).map((d) => `${DEEP}${d}`),
  fc.constant('x'.repeat(70_000)),
  fc.constant(Array.from({ length: 2_000 }, () => ({ role: 'user', content: 'hi' }))),
);

/**
 * Stands for an array nested that many levels deep, spliced into the serialised text: the
 * generator's own JSON.stringify would overflow the stack on it.
 */
const DEEP = '__fuzz_deep_';

function serialise(value: unknown): string {
  return (JSON.stringify(value) ?? 'null').replace(/"__fuzz_deep_(\d+)"/g, (_, d: string) => `${'['.repeat(Number(d))}1${']'.repeat(Number(d))}`);
}

type Step = { pick: number; op: 'replace' | 'delete' | 'wrap'; value: unknown };

/** Follows `path` into `root` (each pick a child index modulo the child count) and changes what it reaches. */
function mutate(root: Record<string, unknown>, path: number[], step: Step): Record<string, unknown> {
  const copy = structuredClone(root);
  type Container = Record<string | number, unknown>;
  const keysOf = (c: Container): Array<string | number> => (Array.isArray(c) ? c.map((_, i) => i) : Object.keys(c));
  let parent: Container = copy;
  for (const pick of path) {
    const keys = keysOf(parent);
    if (keys.length === 0) break;
    const child = parent[keys[pick % keys.length]!];
    if (child === null || typeof child !== 'object') break;
    parent = child as Container;
  }
  const keys = keysOf(parent);
  const key = keys.length === 0 ? 'x_fuzz' : keys[step.pick % keys.length]!;
  if (step.op === 'delete') {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
  } else if (step.op === 'wrap') parent[key] = [parent[key]];
  else parent[key] = step.value;
  return copy;
}

const structuralMutation = fc.tuple(
  fc.array(fc.nat(), { maxLength: 5 }),
  fc.record({ pick: fc.nat(), op: fc.constantFrom('replace', 'replace', 'replace', 'delete', 'wrap'), value: oddValue }) as fc.Arbitrary<Step>,
);

/** Text-level changes to a serialised body. */
const byteMutation: fc.Arbitrary<(text: string) => string> = fc.oneof(
  fc.constantFrom('1e309', '-1e309', '1e-400', '-0', '0.0000000000000000000000001', '123456789012345678901234567890').map(
    (n) => (t: string) => (/\d+(\.\d+)?/.test(t) ? t.replace(/-?\d+(\.\d+)?(e[+-]?\d+)?/, n) : t.replace(/\}$/, `,"x":${n}}`)),
  ),
  fc.constantFrom(DEMO_MODELS[0], 'o1-pro', '').map((m) => (t: string) => t.replace(/\}$/, `,"model":${JSON.stringify(m)}}`)),
  fc.nat().map((n) => (t: string) => t.slice(0, n % (t.length + 1))),
  fc.tuple(fc.nat(), fc.constantFrom('"', '\\', '{', ']', ',', '\u0000', '\ud800', '\\u', '\\ud800', '\uFEFF')).map(
    ([n, s]) => (t: string) => t.slice(0, n % (t.length + 1)) + s + t.slice(n % (t.length + 1)),
  ),
  fc.constant((t: string) => `\uFEFF${t}`),
  fc.constant((t: string) => t.replace(/"([^"\\]*)"/, '"$1\\ud83d"')),
  fc.constant((t: string) => ` \n\t${t}\n `),
);

export interface FuzzBody {
  /** The body as sent. */
  bytes: Buffer;
  /** The model the generator meant (the body may no longer say so after mutation). */
  model: string;
  kind: 'plausible' | 'structural' | 'bytes';
}

/** Bytes that are not valid UTF-8, spliced in at byte level. */
const INVALID_UTF8 = [Buffer.from([0xff]), Buffer.from([0xc3]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xf4, 0x90, 0x80, 0x80])];

/** The fuzz corpus: 60 % plausible requests, 25 % structurally mutated, 15 % byte-mutated. */
export const fuzzBody: fc.Arbitrary<FuzzBody> = fc.oneof(
  { arbitrary: plausibleRequest.map((r) => ({ bytes: Buffer.from(JSON.stringify(r)), model: String(r['model']), kind: 'plausible' as const })), weight: 12 },
  {
    arbitrary: fc.tuple(plausibleRequest, structuralMutation).map(([r, [p, step]]) => ({
      bytes: Buffer.from(serialise(mutate(r, p, step))),
      model: String(r['model']),
      kind: 'structural' as const,
    })),
    weight: 5,
  },
  {
    arbitrary: fc.tuple(plausibleRequest, byteMutation, fc.option(fc.tuple(fc.nat(), fc.constantFrom(...INVALID_UTF8)), { freq: 4 })).map(([r, m, raw]) => {
      let bytes = Buffer.from(m(JSON.stringify(r)));
      if (raw) {
        const at = raw[0] % (bytes.length + 1);
        bytes = Buffer.concat([bytes.subarray(0, at), raw[1], bytes.subarray(at)]);
      }
      return { bytes, model: String(r['model']), kind: 'bytes' as const };
    }),
    weight: 3,
  },
);
