import { z } from 'zod';

/**
 * A strict zod object (unknown keys refused, so a typo in gateway.yaml is an error, not a
 * silently ignored setting) whose unknown-key error lists the keys allowed there.
 */
export function strictObject<T extends z.ZodRawShape>(shape: T) {
  return z.strictObject(shape, {
    error: (iss) =>
      iss.code === 'unrecognized_keys'
        ? `unknown key(s) ${iss.keys.map((k) => `"${k}"`).join(', ')} (expected: ${Object.keys(shape).join(', ')})`
        : undefined,
  });
}
