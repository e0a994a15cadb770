import { HISTOGRAM_BUCKETS, bucketOf } from '../histogram.ts';
import type { WindowSample } from '../window.ts';

/** One sub-window's counts of this replica not yet written to Redis (see keys.ts for the fields). */
export class SubWindowDelta {
  attempts = 0;
  errors = 0;
  promptTokens = 0;
  cachedTokens = 0;
  /** Latency samples per kind (0 streams, 1 JSON), and their sum in whole ms. */
  readonly samples = [0, 0];
  readonly sumMs = [0, 0];
  /** Histogram counts by `kind × HISTOGRAM_BUCKETS + bucket` (only the buckets used). */
  readonly hist = new Map<number, number>();

  /**
   * The HINCRBY field/increment pairs of this delta, attempts and errors under the breaker
   * generation `gen` (keys.ts), zero counts left out.
   */
  fields(gen: string): Array<string | number> {
    const out: Array<string | number> = [];
    const put = (field: string, n: number): void => {
      if (n !== 0) out.push(field, n);
    };
    put(`a.${gen}`, this.attempts);
    put(`e.${gen}`, this.errors);
    put('pt', this.promptTokens);
    put('ct', this.cachedTokens);
    for (let k = 0; k < 2; k++) {
      put(`n${k}`, this.samples[k]!);
      put(`s${k}`, this.sumMs[k]!);
    }
    for (const [i, n] of this.hist) put(`h${Math.floor(i / HISTOGRAM_BUCKETS)}.${i % HISTOGRAM_BUCKETS}`, n);
    return out;
  }
}

/**
 * What this replica recorded for one target since its last flush, by epoch-aligned sub-window
 * index (epoch ms / subWindowMs, the same cut as window.ts, so replicas' counts add up). The
 * sync takes it whole (`take`) and HINCRBYs it into the fleet's sub-window hashes. Running
 * attempt and error totals are kept for the breaker, which must count this replica's newest
 * attempts before they reach Redis.
 */
export class PendingDeltas {
  private subs = new Map<number, SubWindowDelta>();
  attempts = 0;
  errors = 0;

  /** Adds one attempt's sample (window.ts sampleOf) to sub-window `sub`. */
  add(sub: number, sample: WindowSample): void {
    const { attempt, error, kind, latencyMs, promptTokens, cachedTokens } = sample;
    let d = this.subs.get(sub);
    if (d === undefined) {
      d = new SubWindowDelta();
      this.subs.set(sub, d);
    }
    if (attempt) { d.attempts += 1; this.attempts += 1; }
    if (error) { d.errors += 1; this.errors += 1; }
    if (promptTokens > 0) {
      d.promptTokens += promptTokens;
      d.cachedTokens += cachedTokens;
    }
    if (latencyMs !== undefined) {
      d.samples[kind]! += 1;
      // Whole ms: HINCRBY takes integers, and a sub-ms share of a sum says nothing at this scale.
      d.sumMs[kind]! += Math.round(latencyMs);
      const i = kind * HISTOGRAM_BUCKETS + bucketOf(latencyMs);
      d.hist.set(i, (d.hist.get(i) ?? 0) + 1);
    }
  }

  /** Forgets attempts and errors (the breaker closed: a new generation counts afresh), keeping latency and tokens. */
  clearErrorCounts(): void {
    for (const d of this.subs.values()) {
      d.attempts = 0;
      d.errors = 0;
    }
    this.attempts = 0;
    this.errors = 0;
  }

  /** Hands over everything pending from sub-window `oldestSub` on (older ones left the window: dropped), and starts empty. */
  take(oldestSub: number): { subs: Map<number, SubWindowDelta>; attempts: number; errors: number } {
    const subs = this.subs;
    let attempts = 0;
    let errors = 0;
    for (const [sub, d] of subs) {
      if (sub < oldestSub) subs.delete(sub);
      else { attempts += d.attempts; errors += d.errors; }
    }
    this.subs = new Map();
    this.attempts = 0;
    this.errors = 0;
    return { subs, attempts, errors };
  }

  /** Drops sub-windows older than `oldestSub` while nothing is flushed (Redis down), so the map stays within the window. */
  dropBefore(oldestSub: number): void {
    for (const [sub, d] of this.subs) {
      if (sub >= oldestSub) continue;
      this.attempts -= d.attempts;
      this.errors -= d.errors;
      this.subs.delete(sub);
    }
  }

  get size(): number {
    return this.subs.size;
  }
}
