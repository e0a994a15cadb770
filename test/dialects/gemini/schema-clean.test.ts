import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanSchema } from '../../../src/dialects/gemini/schema-clean.ts';
import { GatewayError } from '../../../src/errors/gateway-error.ts';

// JSON Schema → the subset Gemini's parametersJsonSchema / responseJsonSchema accept.

const P = 'tools[0].function.parameters';

function refused(schema: Record<string, unknown>): void {
  assert.throws(() => cleanSchema(schema, P), (err: unknown) => err instanceof GatewayError && err.status === 400 && err.param === P);
}

test('unsupported keywords are dropped, supported ones and property names kept', () => {
  const cleaned = cleanSchema({
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'urn:x',
    type: 'object',
    title: 'T',
    additionalProperties: false,
    properties: {
      $ref: { type: 'string', minLength: 1, pattern: '^a', default: 'a', examples: ['a'] },
      tags: { type: 'array', items: { type: 'string', format: 'email' }, minItems: 1, uniqueItems: true },
      mode: { const: 'fast' },
      n: { type: ['integer', 'null'], minimum: 0, maximum: 9, exclusiveMaximum: 10, multipleOf: 1 },
      any: { anyOf: [{ type: 'string' }, { type: 'number', not: { const: 3 } }] },
    },
    required: ['tags'],
    propertyOrdering: ['tags'],
  }, P);
  assert.deepEqual(cleaned, {
    type: 'object',
    title: 'T',
    additionalProperties: false,
    properties: {
      $ref: { type: 'string' },
      tags: { type: 'array', items: { type: 'string', format: 'email' }, minItems: 1 },
      mode: { enum: ['fast'] },
      n: { type: ['integer', 'null'], minimum: 0, maximum: 9 },
      any: { anyOf: [{ type: 'string' }, { type: 'number' }] },
    },
    required: ['tags'],
    propertyOrdering: ['tags'],
  });
});

test('local $ref (both $defs and definitions) is inlined; sibling keywords refine it', () => {
  const cleaned = cleanSchema({
    type: 'object',
    $defs: { Point: { type: 'object', properties: { x: { type: 'number' } }, required: ['x'] } },
    definitions: { 'a/b': { type: 'string' } },
    properties: {
      p: { $ref: '#/$defs/Point', description: 'where' },
      q: { $ref: '#/definitions/a~1b' },
      list: { type: 'array', items: { $ref: '#/$defs/Point' } },
    },
  }, P);
  const point = { type: 'object', properties: { x: { type: 'number' } }, required: ['x'] };
  assert.deepEqual(cleaned, {
    type: 'object',
    properties: { p: { ...point, description: 'where' }, q: { type: 'string' }, list: { type: 'array', items: point } },
  });
});

test('allOf is merged', () => {
  assert.deepEqual(
    cleanSchema({ allOf: [{ type: 'object', properties: { a: { type: 'string' } }, required: ['a'] }, { properties: { b: { type: 'integer' } }, required: ['b'] }] }, P),
    { type: 'object', properties: { a: { type: 'string' }, b: { type: 'integer' } }, required: ['a', 'b'] },
  );
});

test('cycles, remote refs, unresolvable refs and blow-ups are refused with the param', () => {
  refused({ $defs: { Node: { type: 'object', properties: { next: { $ref: '#/$defs/Node' } } } }, $ref: '#/$defs/Node' });
  refused({ type: 'object', properties: { a: { $ref: 'https://example.com/schema.json' } } });
  refused({ type: 'object', properties: { a: { $ref: '#/$defs/Missing' } } });
  refused({ type: 'object', properties: { a: { $ref: '#/%E0%A4%A' } } });
  const deep: Record<string, unknown> = { type: 'string' };
  let node = deep;
  for (let i = 0; i < 100; i++) node = (node.items = { type: 'array' }) as Record<string, unknown>;
  refused(deep);
  // 2^20 nodes once expanded: each level references the previous one twice.
  const defs: Record<string, unknown> = { L0: { type: 'string' } };
  for (let i = 1; i <= 20; i++) defs[`L${i}`] = { type: 'object', properties: { a: { $ref: `#/$defs/L${i - 1}` }, b: { $ref: `#/$defs/L${i - 1}` } } };
  refused({ $defs: defs, $ref: '#/$defs/L20' });
});

test('odd but valid schemas: deep anyOf is refused with the param, a huge enum and a __proto__ property are kept', () => {
  let anyOf: Record<string, unknown> = { type: 'string' };
  for (let i = 0; i < 100; i++) anyOf = { anyOf: [anyOf, { type: 'null' }] };
  refused({ type: 'object', properties: { p: anyOf } });
  const values = Array.from({ length: 20_000 }, (_, i) => `v${i}`);
  assert.equal((cleanSchema({ type: 'string', enum: values }, P).enum as unknown[]).length, 20_000);
  // JSON.parse makes `__proto__` an own key; the copy must keep it as a property, not a prototype.
  const cleaned = cleanSchema(JSON.parse('{"type":"object","properties":{"__proto__":{"type":"string"}}}') as Record<string, unknown>, P);
  assert.equal(JSON.stringify(cleaned), '{"type":"object","properties":{"__proto__":{"type":"string"}}}');
});
