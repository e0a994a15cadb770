import { z } from 'zod';
import { MODEL_NAME_RE, MODEL_PATTERN_RE } from '../policy/model-scope.ts';

/**
 * gateway.yaml `keys:`, the gateway keys callers authenticate with, and the name rules for
 * model and alias names that scopes match against (src/policy/model-scope.ts).
 */

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, '64 lower-case hex characters (sha256 of the key)');

/** A public model or alias name: ASCII letters, digits and `. _ : / @ + -`, at most 256 characters. */
export const publicModelName = z.string().regex(MODEL_NAME_RE, 'a model name of letters, digits and . _ : / @ + - (at most 256 characters)');

/** A scope pattern: a public model or alias name, where `*` stands for any run of name characters. */
const modelPattern = z
  .string()
  .regex(MODEL_PATTERN_RE, 'a model name or glob of letters, digits, . _ : / @ + - and * (at most 256 characters; no spaces, no Unicode)');

/**
 * A team or feature name: logged, a metric label, and part of state keys (the team is the Redis
 * Cluster hash tag `{t:<team>}`), so a plain identifier: no braces, spaces or control characters.
 */
const label = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'letters, digits, . _ - (starting with a letter or digit; at most 128 characters)');

const KEY_FIELDS = ['name', 'team', 'feature', 'sha256', 'fromEnv', 'models', 'disabled', 'expiresAt', 'usageCost', 'explain'];

export const keySchema = z
  .strictObject(
    {
      /** Unique; appears on every log line of the key's requests as `key_name`. */
      name: z.string().min(1).max(128),
      team: label.default('default'),
      /** What the key is for (e.g. `support-bot`), logged as `feature`. */
      feature: label.optional(),
      /**
       * Hex SHA-256 of the key, or a list of them while a key is being rotated (each works); the
       * key itself never lives in the file.
       */
      sha256: z.union([sha256Hex, z.array(sha256Hex).min(1).max(8)], { error: 'a sha256 as 64 lower-case hex characters in quotes (an unquoted run of digits reads as a number), or a list of them' }).optional(),
      /** Or: the name of an environment variable holding the key (hashed at load, e.g. the demo key). */
      fromEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name').optional(),
      /** Model scope: glob patterns on public model names and alias names; absent = every model. */
      models: z.array(modelPattern).min(1).max(256).optional(),
      /** A disabled key is refused like an unknown one (401). */
      disabled: z.boolean().default(false),
      /** From this instant on (ISO 8601 UTC, e.g. 2026-12-31T23:59:59Z) the key is refused like an unknown one. */
      expiresAt: z.iso.datetime({ message: 'an ISO 8601 UTC date-time such as 2026-12-31T23:59:59Z' }).optional(),
      /**
       * Opt-in: the final usage of the key's answers (a stream's usage chunk when the caller asked
       * for `stream_options.include_usage`, a JSON answer's `usage`) carries `cost`, USD, as
       * OpenRouter's usage accounting does; the log line's `cost_usd` for the same request.
       */
      usageCost: z.boolean().default(false),
      /**
       * The key may ask for routing explanations: a request with `x-gateway-explain: 1` gets the
       * `x-gateway-explain` response header (README, Routing). Without it the header is ignored.
       */
      explain: z.boolean().default(false),
    },
    {
      error: (iss) =>
        iss.code === 'unrecognized_keys' ? `unknown key(s) ${iss.keys.map((k) => `"${k}"`).join(', ')} (expected: ${KEY_FIELDS.join(', ')})` : undefined,
    },
  )
  .refine((k) => (k.sha256 === undefined) !== (k.fromEnv === undefined), {
    message: 'exactly one of sha256 or fromEnv is required',
  });
export type KeyConfig = z.infer<typeof keySchema>;
