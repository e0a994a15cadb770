/**
 * The rate-limit algorithm both backends implement (the Redis Lua script mirrors these lines):
 * a **sliding window of N sub-window buckets, counted conservatively**.
 *
 * A window of W ms is cut into N sub-windows of s = ceil(W / N) ms, aligned to the epoch. Each
 * reservation adds its amount to the bucket of the sub-window it happens in. A check at time t,
 * in bucket c = floor(t / s), counts buckets c−N … c (N+1 buckets: the partial oldest one whole).
 *
 * **Bound.** Those buckets cover [t − W − (t mod s) … t] ⊇ [t − W, t], so at every grant all
 * units granted in the W ms before it are counted: no window of length W ever holds more than
 * `limit` reserved units, wherever it starts (a burst at a boundary cannot get 2× the limit,
 * unlike fixed windows). The price: up to s = W/N of older traffic is still counted, so a
 * request may be refused up to W/N ms early (10 buckets: 6 s for a minute window). Settled
 * overspend (actual > reserved) is added too and makes later requests wait; it is the only way
 * a window can exceed its limit, by what providers reported beyond the estimates.
 */

/** Default N: a per-minute window has 6 s sub-windows. */
export const DEFAULT_SUB_WINDOWS = 10;

/** Sub-window length in ms for a window of `windowMs` cut into `n`. */
export function subWindowMs(windowMs: number, n: number): number {
  return Math.ceil(windowMs / n);
}

/** Oldest bucket index a check at bucket `current` still counts. */
export function oldestCounted(current: number, n: number): number {
  return current - n;
}

/** ms from `now` until bucket `b` leaves every check (the first instant bucket b+N+1 begins). */
export function msUntilGone(b: number, s: number, n: number, now: number): number {
  return (b + n + 1) * s - now;
}

/**
 * ms until `amount` more would fit: buckets leave oldest first; null when `amount > limit`
 * (it never fits). `buckets` are the counted [index, units] pairs.
 */
export function retryAfterMs(
  buckets: ReadonlyArray<readonly [number, number]>,
  used: number,
  amount: number,
  limit: number,
  s: number,
  n: number,
  now: number,
): number | null {
  if (amount > limit) return null;
  const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
  let left = used;
  for (const [b, units] of sorted) {
    left -= units;
    if (left + amount <= limit) return Math.max(1, msUntilGone(b, s, n, now));
  }
  // Only reachable with negative buckets; the newest bucket leaving frees everything.
  const newest = sorted.length > 0 ? sorted[sorted.length - 1]![0] : Math.floor(now / s);
  return Math.max(1, msUntilGone(newest, s, n, now));
}
