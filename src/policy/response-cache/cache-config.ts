import { z } from 'zod';

/**
 * gateway.yaml pieces for the response cache, for src/config/schema.ts to adopt:
 * `models.<name>.cache` (modelCacheModeSchema) and `server.responseCache`
 * (responseCacheSettingsSchema).
 */

/**
 * Per model, when answers are cached (cache-policy.ts):
 * - `auto` (default): deterministic requests only: `temperature: 0` and an output limit
 *   (`max_tokens` or `max_completion_tokens`), and no live input (`web_search_options`);
 * - `on`: every request that can be replayed, whatever its sampling settings (issue 8's
 *   "always"; for models whose callers accept one stored answer per identical request);
 * - `off`: never read nor written.
 * Requests that can never be replayed (`store: true`, audio output) bypass the cache in
 * every mode.
 */
export const modelCacheModeSchema = z.enum(['auto', 'on', 'off']).default('auto');
export type ModelCacheMode = z.infer<typeof modelCacheModeSchema>;

/** Gateway-wide cache settings; the store itself (lru-cache in bytes, or Redis) is the state layer's. */
export const responseCacheSettingsSchema = z
  .strictObject({
    /** Off: every request is `x-gateway-cache: bypass`, whatever the models say. */
    enabled: z.boolean().default(true),
    /** How long an entry lives, in seconds (Redis TTL / lru-cache ttl). */
    ttlSeconds: z.number().int().min(1).max(30 * 24 * 3600).default(3600),
    /**
     * Largest entry stored, in bytes of its encoding (cache-entry.ts); a larger answer is
     * served but not stored. Also the stream accumulator's cap (stream-accumulator.ts).
     */
    maxEntryBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(1024 * 1024),
  })
  .prefault({});
export type ResponseCacheSettings = z.infer<typeof responseCacheSettingsSchema>;
