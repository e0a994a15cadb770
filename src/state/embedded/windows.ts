import { msUntilGone, oldestCounted, retryAfterMs, subWindowMs } from '../sliding-window.ts';
import type { ChargeStatus, ReserveResult, ReservedCharge, WindowCharge, WindowReservation } from '../store.ts';

/**
 * One counter's sub-window buckets: the N+1 a check counts, in a ring (bucket b in slot
 * b mod (N+1)), so a check sums a fixed array and a reserve allocates nothing. Two buckets a
 * check counts together are at most N apart, so they never share a slot. `newest` is the newest
 * bucket written: a clock that goes back (Date.now after an NTP step, a driven test clock)
 * counts from it, never from before it, so no bucket is ever in a check's future and the ring
 * stays exact; units reserved then live in the newer bucket, i.e. longer (the safe side).
 */
class Buckets {
  /** Bucket index per slot; -Infinity: empty. */
  readonly ids: Float64Array;
  /** Units per slot (negative after a settlement below its reservation is possible). */
  readonly units: Float64Array;
  newest = Number.NEGATIVE_INFINITY;

  constructor(
    readonly s: number,
    size: number,
  ) {
    this.ids = new Float64Array(size).fill(Number.NEGATIVE_INFINITY);
    this.units = new Float64Array(size);
  }

  /** The bucket a check at `now` happens in. */
  current(now: number): number {
    return Math.max(Math.floor(now / this.s), this.newest);
  }

  /** Units in buckets ≥ oldest. */
  sum(oldest: number): number {
    let sum = 0;
    for (let i = 0; i < this.ids.length; i++) if (this.ids[i]! >= oldest) sum += this.units[i]!;
    return sum;
  }

  /** The counted [bucket, units] pairs (for a refusal's retry-after only). */
  counted(oldest: number): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let i = 0; i < this.ids.length; i++) if (this.ids[i]! >= oldest) out.push([this.ids[i]!, this.units[i]!]);
    return out;
  }

  /** Adds to bucket b (b ≥ the oldest counted): a slot holding an older, uncounted bucket is reused. */
  add(b: number, units: number): void {
    const size = this.ids.length;
    const slot = ((b % size) + size) % size;
    if (this.ids[slot] !== b) {
      this.ids[slot] = b;
      this.units[slot] = 0;
    }
    this.units[slot] = this.units[slot]! + units;
    if (b > this.newest) this.newest = b;
  }

  /** True when no bucket is counted at `current` any more. */
  idle(oldest: number): boolean {
    for (let i = 0; i < this.ids.length; i++) if (this.ids[i]! >= oldest) return false;
    return true;
  }
}

/**
 * Rate-limit windows in process memory (the algorithm: src/state/sliding-window.ts). One
 * replica's counters only: run several replicas on Redis. Synchronous, so a reserve is atomic
 * on Node's single thread.
 */
export class EmbeddedWindows {
  /**
   * partition → counter → windowMs → its buckets. Nested rather than one joined key: the config's
   * strings keep their hash, a joined key would be built and hashed again on every call.
   */
  private readonly counters = new Map<string, Map<string, Map<number, Buckets>>>();
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
    const counters: Buckets[] = [];
    const used: number[] = [];
    // Pass 1: check every charge; nothing is written unless all fit.
    for (let i = 0; i < charges.length; i++) {
      const c = charges[i]!;
      const b = this.counter(partition, c.counter, c.windowMs);
      const oldest = oldestCounted(b.current(now), this.n);
      const sum = b.sum(oldest);
      if (sum + c.amount > c.limit) {
        return {
          granted: false,
          refusedIndex: i,
          counter: c.counter,
          limit: c.limit,
          used: sum,
          retryAfterMs: retryAfterMs(b.counted(oldest), sum, c.amount, c.limit, b.s, this.n, now),
          at: now,
        };
      }
      counters.push(b);
      used.push(sum);
    }
    // Pass 2: write.
    const reserved: ReservedCharge[] = [];
    const status: ChargeStatus[] = [];
    let until = now;
    for (let i = 0; i < charges.length; i++) {
      const c = charges[i]!;
      const b = counters[i]!;
      const bucket = b.current(now);
      b.add(bucket, c.amount);
      reserved.push({ counter: c.counter, windowMs: c.windowMs, amount: c.amount, bucket, subWindowMs: b.s });
      const resetMs = msUntilGone(bucket, b.s, this.n, now);
      status.push({ counter: c.counter, limit: c.limit, remaining: c.limit - used[i]! - c.amount, resetMs });
      until = Math.max(until, now + resetMs);
    }
    this.active.set(requestId, until);
    const reservation: WindowReservation = { requestId, partition, charges: reserved };
    return { granted: true, reservation, charges: status, at: now };
  }

  /** Adds actual − reserved per charge; false when the reservation is no longer active. */
  settle(r: WindowReservation, actual: readonly number[]): boolean {
    return this.finish(r, actual);
  }

  /** Gives every reserved unit back (a settle with 0 actual); false when no longer active. */
  release(r: WindowReservation): boolean {
    return this.finish(r, undefined);
  }

  /** `actual` undefined: 0 for every charge. */
  private finish(r: WindowReservation, actual: readonly number[] | undefined): boolean {
    const now = this.now();
    const until = this.active.get(r.requestId);
    if (until === undefined || until <= now) return false;
    this.active.delete(r.requestId);
    for (let i = 0; i < r.charges.length; i++) {
      const c = r.charges[i]!;
      const delta = (actual === undefined ? 0 : actual[i]!) - c.amount;
      if (delta === 0) continue;
      const b = this.counters.get(r.partition)?.get(c.counter)?.get(c.windowMs);
      // A bucket no check counts any more limits nothing: skip it rather than resurrect it.
      if (b && c.bucket >= oldestCounted(b.current(now), this.n)) b.add(c.bucket, delta);
    }
    return true;
  }

  private counter(partition: string, counter: string, windowMs: number): Buckets {
    let byCounter = this.counters.get(partition);
    if (!byCounter) this.counters.set(partition, (byCounter = new Map()));
    let byWindow = byCounter.get(counter);
    if (!byWindow) byCounter.set(counter, (byWindow = new Map()));
    let b = byWindow.get(windowMs);
    if (!b) byWindow.set(windowMs, (b = new Buckets(subWindowMs(windowMs, this.n), this.n + 1)));
    return b;
  }

  /** Drops idle counters and stale reservations, at most once a second (amortized O(1)). */
  private sweep(now: number): void {
    if (now - this.lastSweep < 1000) return;
    this.lastSweep = now;
    for (const [id, until] of this.active) if (until <= now) this.active.delete(id);
    for (const [partition, byCounter] of this.counters) {
      for (const [counter, byWindow] of byCounter) {
        for (const [windowMs, b] of byWindow) if (b.idle(oldestCounted(b.current(now), this.n))) byWindow.delete(windowMs);
        if (byWindow.size === 0) byCounter.delete(counter);
      }
      if (byCounter.size === 0) this.counters.delete(partition);
    }
  }
}
