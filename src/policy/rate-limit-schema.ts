import { z } from 'zod';

/**
 * gateway.yaml `rateLimits:`, requests and tokens per minute and per day for keys, teams and
 * features (src/policy/rate-limit.ts enforces them; the README's *Rate limits* explains them).
 *
 * ```yaml
 * rateLimits:
 *   onStateError: fail-closed        # or fail-open
 *   keys:
 *     ci-bot: { requestsPerMinute: 30 }
 *   teams:
 *     support:
 *       limits: { requestsPerMinute: 600, tokensPerMinute: 200000, tokensPerDay: 5000000 }
 *       features:
 *         support-bot: { tokensPerMinute: 50000 }
 * ```
 *
 * Everything lives in this one section (rather than on `keys[]`), so a key's own limits, its
 * team's and its feature's are read in one place; key names are checked against `keys:` at load.
 */

const count = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

/** One subject's limits; each is optional, an absent one does not limit. */
export const limitsSchema = z.strictObject(
  {
    /** Requests admitted in any 60 s window. */
    requestsPerMinute: count.optional(),
    /** Requests admitted in any 24 h window. */
    requestsPerDay: count.optional(),
    /** Tokens (input + output, reserved as an estimate, settled as reported) in any 60 s window. */
    tokensPerMinute: count.optional(),
    /** Tokens in any 24 h window. */
    tokensPerDay: count.optional(),
  },
  {
    error: (iss) =>
      iss.code === 'unrecognized_keys'
        ? `unknown key(s) ${iss.keys.map((k) => `"${k}"`).join(', ')} (expected: requestsPerMinute, requestsPerDay, tokensPerMinute, tokensPerDay)`
        : undefined,
  },
);
export type LimitsConfig = z.infer<typeof limitsSchema>;

/** A label as keys-schema.ts allows for team and feature names. */
const label = z.string().min(1).max(128);

const teamSchema = z.strictObject({
  /** The whole team's limits (every key of the team counts against them). */
  limits: limitsSchema.optional(),
  /** Per feature of this team (keys with `feature:` set). */
  features: z.record(label, limitsSchema).default({}),
});

/**
 * What the limits do when the state backend cannot answer (Redis down, slow past its command
 * timeout): `fail-closed` refuses with 503 `state_unavailable`; `fail-open` counts in this
 * process for the outage (each replica then admits up to the limit on its own).
 */
export const onStateErrorSchema = z.enum(['fail-open', 'fail-closed']);
export type OnStateError = z.infer<typeof onStateErrorSchema>;

export const rateLimitsSchema = z
  .strictObject({
    onStateError: onStateErrorSchema.default('fail-closed'),
    /** By key name (gateway.yaml `keys[].name`). */
    keys: z.record(z.string().min(1).max(128), limitsSchema).default({}),
    /** By team name (`keys[].team`). */
    teams: z.record(label, teamSchema).default({}),
  })
  .prefault({});
export type RateLimitsConfig = z.infer<typeof rateLimitsSchema>;
