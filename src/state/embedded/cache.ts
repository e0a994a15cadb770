import { LRUCache } from 'lru-cache';

/**
 * The response cache in process memory: least recently used entries go first once the stored
 * bytes would exceed `maxBytes`; each entry also has its own TTL. An entry larger than an
 * eighth of the bound is not stored (one answer must not flush the cache).
 */
export class EmbeddedCache {
  private readonly lru: LRUCache<string, Uint8Array>;

  constructor(maxBytes: number, now: () => number) {
    this.lru = new LRUCache<string, Uint8Array>({
      maxSize: maxBytes,
      maxEntrySize: Math.max(1, Math.floor(maxBytes / 8)),
      sizeCalculation: (v, k) => Math.max(1, v.byteLength + k.length),
      ttlAutopurge: false,
      perf: { now },
    });
  }

  get(key: string): Uint8Array | undefined {
    return this.lru.get(key);
  }

  set(key: string, value: Uint8Array, ttlMs: number): void {
    // Copy: the caller's buffer may be a view into a larger one it reuses.
    this.lru.set(key, Uint8Array.from(value), { ttl: ttlMs });
  }

  /** Bytes held now (values and keys), for tests and metrics. */
  get bytes(): number {
    return this.lru.calculatedSize;
  }

  clear(): void {
    this.lru.clear();
  }
}
