/**
 * What the response cache needs from the state layer (src/state/: `cacheGet`/`cacheSet`;
 * embedded lru-cache bounded in bytes, or Redis with TTL). A fault rejects; the cache then
 * fails open (a read fault is a bypass, a write fault is counted and dropped).
 */
export interface ResponseCacheStore {
  /** The bytes stored under `key`, or undefined when absent or expired. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Stores `value` under `key` for `ttlMs` milliseconds, replacing any entry. */
  set(key: string, value: Uint8Array, ttlMs: number): Promise<void>;
}

/** The state layer's cache methods (src/state/store.ts StateStore) as a ResponseCacheStore. */
export function cacheStoreOf(state: {
  cacheGet(key: string): Promise<Uint8Array | undefined>;
  cacheSet(key: string, value: Uint8Array, ttlMs: number): Promise<void>;
}): ResponseCacheStore {
  return { get: (key) => state.cacheGet(key), set: (key, value, ttlMs) => state.cacheSet(key, value, ttlMs) };
}
