import { z } from 'zod';

/**
 * A JSON object taken as it is (the object JSON.parse made), never rebuilt: `z.record` copies
 * keys by assignment, and an own `"__proto__"` key (legal JSON, and a legal tool-argument or
 * schema property name) then sets the copy's prototype instead of a key and is lost. User data
 * (tool-call arguments, JSON schemas) must reach the other side byte-for-byte in meaning.
 */
export const jsonObjectSchema = z.custom<Record<string, unknown>>(
  (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
  { error: 'expected a JSON object' },
);
