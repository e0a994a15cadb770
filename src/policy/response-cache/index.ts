/**
 * The response cache (issue 8 item 5): what the request path uses. One job per file:
 * cache-config (gateway.yaml pieces), cache-control (the caller's header), cache-policy
 * (eligibility), cache-key, cache-entry (what is stored, what never is), cache-replay (a hit as
 * JSON or SSE), stream-accumulator (storing a streamed answer), cache-step (the pipeline
 * step), cache-saving (what a hit avoided, metric names), store (the state layer's side),
 * response-cache (all of it together).
 */
export { modelCacheModeSchema, responseCacheSettingsSchema, type ModelCacheMode, type ResponseCacheSettings } from './cache-config.ts';
export { completionFromBody, type NotStoredReason } from './cache-entry.ts';
export type { CacheBypassReason, CacheStatus } from './cache-policy.ts';
export type { ReplayLabel } from './cache-replay.ts';
export { CACHE_METRICS, cacheSaving, type CacheSaving } from './cache-saving.ts';
export { responseCacheStep, type CacheStepIO } from './cache-step.ts';
export { ResponseCache, type CacheLookup, type CacheRequest, type StoreOutcome } from './response-cache.ts';
export { cacheStoreOf, type ResponseCacheStore } from './store.ts';
export { StreamAccumulator } from './stream-accumulator.ts';
