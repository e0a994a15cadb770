import { z } from 'zod';
import { strictObject } from '../../config/strict-object.ts';

/**
 * gateway.yaml `server.state.redis`: how the Redis backend (REDIS_URL) behaves. The URL itself
 * stays in the environment (it carries a password).
 */
export const redisSettingsSchema = strictObject({
  /** Longest wait for one command before the call fails with StateUnavailableError, ms. Applied on hot reload. */
  commandTimeoutMs: z.number().int().min(1).max(60_000).default(250),
  /** Longest wait for a connection (and, with Sentinel, for a sentinel's answer), ms. Needs a restart. */
  connectTimeoutMs: z.number().int().min(1).max(60_000).default(2000),
  /**
   * Prepended to every key; every replica must use the same. Needs a restart. No `{` or `}`:
   * the first `{…}` of a key is its Redis Cluster hash tag (src/state/redis/keys.ts).
   */
  keyPrefix: z
    .string()
    .max(64)
    .regex(/^[^{}]*$/, 'must not contain "{" or "}": the first {…} of a key is its Redis Cluster hash tag, and the keys\' own tags ({t:<team>}) must be it')
    .default('llmx:'),
}).prefault({});
export type RedisSettings = z.infer<typeof redisSettingsSchema>;

/** gateway.yaml `server.state`. */
export const stateSettingsSchema = strictObject({
  redis: redisSettingsSchema,
}).prefault({});
export type StateSettings = z.infer<typeof stateSettingsSchema>;

/** Which settings changed between two configs: `live` ones the running client takes, `restart` ones it cannot. */
export function stateSettingsChanges(before: StateSettings, after: StateSettings): { live: string[]; restart: string[] } {
  const live: string[] = [];
  const restart: string[] = [];
  if (before.redis.commandTimeoutMs !== after.redis.commandTimeoutMs) live.push('server.state.redis.commandTimeoutMs');
  if (before.redis.connectTimeoutMs !== after.redis.connectTimeoutMs) restart.push('server.state.redis.connectTimeoutMs');
  if (before.redis.keyPrefix !== after.redis.keyPrefix) restart.push('server.state.redis.keyPrefix');
  return { live, restart };
}
