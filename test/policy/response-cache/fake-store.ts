import type { ResponseCacheStore } from '../../../src/policy/response-cache/store.ts';

/** Unit tests only: a Map with TTLs on an injected clock, and switchable faults. */
export class FakeCacheStore implements ResponseCacheStore {
  readonly entries = new Map<string, { value: Uint8Array; expiresAt: number }>();
  readonly ttls: number[] = [];
  failGet = false;
  failSet = false;
  now = 0;

  async get(key: string): Promise<Uint8Array | undefined> {
    if (this.failGet) throw new Error('fake store: get failed');
    const e = this.entries.get(key);
    if (!e || e.expiresAt <= this.now) return undefined;
    return e.value;
  }

  async set(key: string, value: Uint8Array, ttlMs: number): Promise<void> {
    if (this.failSet) throw new Error('fake store: set failed');
    this.ttls.push(ttlMs);
    this.entries.set(key, { value, expiresAt: this.now + ttlMs });
  }
}
