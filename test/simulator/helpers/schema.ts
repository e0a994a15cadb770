import assert from 'node:assert/strict';
import { z } from 'zod';

/** Asserts `value` validates against JSON Schema `schema` (zod's independent JSON Schema reader). */
export function assertFits(schema: unknown, value: unknown): void {
  const validator = z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
  const result = validator.safeParse(value);
  assert.ok(result.success, `value ${JSON.stringify(value)} does not fit ${JSON.stringify(schema)}: ${result.success ? '' : z.prettifyError(result.error)}`);
}

/** The weather tool of the wire fixtures (scenario C). */
export const WEATHER_SCHEMA = {
  type: 'object',
  properties: {
    location: { type: 'string', description: 'City and country, e.g. Paris, France' },
    unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
  },
  required: ['location'],
};

/** A schema exercising nesting, arrays, refs, numeric bounds and formats. */
export const BOOKING_SCHEMA = {
  type: 'object',
  $defs: { guest: { type: 'object', properties: { name: { type: 'string', minLength: 2 }, age: { type: 'integer', minimum: 18, maximum: 120 } }, required: ['name', 'age'] } },
  properties: {
    hotel: { type: 'string', maxLength: 40 },
    nights: { type: 'integer', exclusiveMinimum: 0, multipleOf: 1 },
    budget: { type: 'number', minimum: 50.5 },
    breakfast: { type: 'boolean' },
    checkin: { type: 'string', format: 'date' },
    contact: { type: 'string', format: 'email' },
    room: { enum: ['single', 'double'] },
    guests: { type: 'array', items: { $ref: '#/$defs/guest' }, minItems: 2 },
    tags: { type: 'array', items: { type: 'string' }, uniqueItems: true, minItems: 2 },
    notes: { anyOf: [{ type: 'null' }, { type: 'string' }] },
    extra: { type: ['null', 'object'], properties: { code: { type: 'string', pattern: '^[A-Z]+$' } }, required: ['code'] },
  },
  required: ['hotel', 'nights', 'budget', 'guests', 'room', 'checkin', 'contact', 'tags', 'extra'],
};
