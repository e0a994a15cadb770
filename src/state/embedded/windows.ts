import { msUntilGone, oldestCounted, retryAfterMs, subWindowMs } from '../sliding-window.ts';
import type { ChargeStatus, ReserveResult, ReservedCharge, WindowCharge, WindowReservation } from '../store.ts';

/**
 * Rate-limit windows in process memory (the algorithm: src/state/sliding-window.ts). One
 * replica's counters only: run several replicas on Redis. Synchronous, so a reserve is atomic
 * on Node's single thread.
 */
export class EmbeddedWindows {
  /** `partition \0 counter \0 windowMs` → bucket index → units. */
  private readonly counters = new Map<string, Map<number, number>>();
  /** Active reservations: request id → when they stop mattering (ms). */
  private readonly active = new Map<string, number>();
  private lastSweep = 0;

  constructor(
    private readonly n: number,
    private readonly now: () => number,
  ) {}

  reserve(requestId: string, partition: string, charges: readonly WindowCharge[]): ReserveResult {
    const now = this.now();
    this.sweep(now);
    if (this.active.has(requestId)) throw new RangeError(`request ${requestId} already has an active window reservation`);
    const used: number[] = [];
    // Pass 1: check every charge; nothing is written unless all fit.
    for (let i = 0; i < charges.length; i++) {
      const c = charges[i]!;
      const s = subWindowMs(c.windowMs, this.n);
      const current = Math.floor(now / s);
      const buckets = this.counted(key(partition, c), current);
      let sum = 0;
      for (const [, units] of buckets) sum += units;
      if (sum + c.amount > c.limit) {
        return {
          granted: false,
          refusedIndex: i,
          counter: c.counter,
          limit: c.limit,
          used: sum,
          retryAfterMs: retryAfterMs(buckets, sum, c.amount, c.limit, s, this.n, now),
          at: now,
        };
      }
      used.push(sum);
    }
    // Pass 2: write.
    const reserved: ReservedCharge[] = [];
    const status: ChargeStatus[] = [];
    let until = now;
    charges.forEach((c, i) => {
      const s = subWindowMs(c.windowMs, this.n);
      const bucket = Math.floor(now / s);
      this.add(key(partition, c), bucket, c.amount);
      reserved.push({ counter: c.counter, windowMs: c.windowMs, amount: c.amount, bucket, subWindowMs: s });
      const resetMs = msUntilGone(bucket, s, this.n, now);
      status.push({ counter: c.counter, limit: c.limit, remaining: c.limit - used[i]! - c.amount, resetMs });
      until = Math.max(until, now + resetMs);
    });
    this.active.set(requestId, until);
    const reservation: WindowReservation = { requestId, partition, charges: reserved };
    return { granted: true, reservation, charges: status, at: now };
  }

  /** Adds actual − reserved per charge; false when the reservation is no longer active. */
  settle(r: WindowReservation, actual: readonly number[]): boolean {
    const now = this.now();
    const until = this.active.get(r.requestId);
    if (until === undefined || until <= now) return false;
    this.active.delete(r.requestId);
    r.charges.forEach((c, i) => {
      const delta = actual[i]! - c.amount;
      const current = Math.floor(now / c.subWindowMs);
      // A bucket no check counts any more limits nothing: skip it rather than resurrect it.
      if (delta !== 0 && c.bucket >= oldestCounted(current, this.n)) this.add(key(r.partition, c), c.bucket, delta);
    });
    return true;
  }

  private counted(k: string, current: number): Array<[number, number]> {
    const buckets = this.counters.get(k);
    if (!buckets) return [];
    const oldest = oldestCounted(current, this.n);
    const out: Array<[number, number]> = [];
    for (const [b, units] of buckets) {
      if (b < oldest) buckets.delete(b);
      else out.push([b, units]);
    }
    if (buckets.size === 0) this.counters.delete(k);
    return out;
  }

  private add(k: string, bucket: number, units: number): void {
    let buckets = this.counters.get(k);
    if (!buckets) this.counters.set(k, (buckets = new Map()));
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + units);
  }

  /** Drops idle counters and stale reservations, at most once a second (amortized O(1)). */
  private sweep(now: number): void {
    if (now - this.lastSweep < 1000) return;
    this.lastSweep = now;
    for (const [id, until] of this.active) if (until <= now) this.active.delete(id);
    for (const [k, buckets] of this.counters) {
      const windowMs = Number(k.slice(k.lastIndexOf('\0') + 1));
      const s = subWindowMs(windowMs, this.n);
      const oldest = oldestCounted(Math.floor(now / s), this.n);
      for (const b of buckets.keys()) if (b < oldest) buckets.delete(b);
      if (buckets.size === 0) this.counters.delete(k);
    }
  }
}

function key(partition: string, c: { counter: string; windowMs: number }): string {
  return `${partition}\0${c.counter}\0${c.windowMs}`;
}
