import type { Exchange } from './exchange.ts';

/**
 * The in-flight exchanges, keyed by id. Bounded: when full, new requests are refused (503)
 * rather than growing without limit. Entries are removed when the router-level stream closes;
 * a sweep drops any entry older than `maxAgeMs` as a backstop against a lost close.
 */
export class ExchangeRegistry {
  private readonly map = new Map<string, Exchange>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    readonly capacity: number,
    private readonly maxAgeMs: number,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(60_000, maxAgeMs)).unref();
  }

  get size(): number {
    return this.map.size;
  }

  /** Returns false when full. */
  add(ex: Exchange): boolean {
    if (this.map.size >= this.capacity) return false;
    this.map.set(ex.id, ex);
    return true;
  }

  get(id: string): Exchange | undefined {
    return this.map.get(id);
  }

  delete(id: string): void {
    this.map.delete(id);
  }

  close(): void {
    clearInterval(this.sweeper);
    this.map.clear();
  }

  private sweep(): void {
    const cutoff = process.hrtime.bigint() - BigInt(this.maxAgeMs) * 1_000_000n;
    for (const [id, ex] of this.map) {
      if (ex.startedAt < cutoff) this.map.delete(id);
      else break; // insertion order is age order
    }
  }
}
