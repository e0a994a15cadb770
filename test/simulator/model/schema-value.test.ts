import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { valueForSchema } from '../../../src/simulator/model/schema-value.ts';
import { assertFits, BOOKING_SCHEMA, WEATHER_SCHEMA } from '../helpers/schema.ts';

describe('valueForSchema', () => {
  it('fills required and optional properties, enum takes its first value', () => {
    const v = valueForSchema(WEATHER_SCHEMA);
    assert.deepEqual(v, { location: 'sim location', unit: 'celsius' });
    assertFits(WEATHER_SCHEMA, v);
  });

  it('handles nesting, arrays, $ref, bounds, formats, unions and patterns', () => {
    const v = valueForSchema(BOOKING_SCHEMA);
    assertFits(BOOKING_SCHEMA, v);
  });

  it('accepts Gemini OpenAPI-style upper-case types', () => {
    const schema = { type: 'OBJECT', properties: { n: { type: 'INTEGER' }, tags: { type: 'ARRAY', items: { type: 'STRING' } } }, required: ['n', 'tags'] };
    const v = valueForSchema(schema);
    assert.deepEqual(v, { n: 1, tags: ['sim tags'] });
  });

  it('honours const, allOf and an empty schema', () => {
    const schema = { allOf: [{ type: 'object', properties: { a: { const: 7 } }, required: ['a'] }, { properties: { b: { type: 'boolean' } }, required: ['b'] }] };
    const v = valueForSchema(schema);
    assert.deepEqual(v, { a: 7, b: true });
    assert.deepEqual(valueForSchema({ type: 'object' }), {});
  });

  it('is deterministic', () => {
    assert.deepEqual(valueForSchema(BOOKING_SCHEMA), valueForSchema(BOOKING_SCHEMA));
  });
});
