/**
 * Log-scale latency buckets (as HdrHistogram's or Prometheus' native histograms cut a range by
 * a fixed ratio): bucket i holds latencies in [2^(i/8), 2^((i+1)/8)) ms, 8 buckets per doubling,
 * from 1 ms to 2^20 ms (about 17.5 min): 160 buckets. Counts are plain integers, so buckets of
 * sub-windows (and of replicas, with Redis) merge by adding.
 *
 * **Error bound.** A quantile is read as the geometric middle of the bucket that holds the
 * sample of that rank (nearest rank: the ⌈q·n⌉-th smallest), so for latencies in
 * [1 ms, 2^20 ms) the reported value is within a factor 2^(±1/16) of that exact sample: at
 * most 4.4 % off (`RELATIVE_ERROR`). Below 1 ms reads as about 1 ms; at or above 2^20 ms, as
 * about 2^20 ms.
 */

export const BUCKETS_PER_DOUBLING = 8;
/** Latencies are bucketed up to 2^MAX_EXPONENT ms. */
export const MAX_EXPONENT = 20;
export const HISTOGRAM_BUCKETS = BUCKETS_PER_DOUBLING * MAX_EXPONENT;
/** Largest relative error of a quantile read from the buckets, for latencies in [1, 2^20) ms. */
export const RELATIVE_ERROR = 2 ** (1 / (2 * BUCKETS_PER_DOUBLING)) - 1;

/** The bucket of a latency in ms (clamped to the range). */
export function bucketOf(ms: number): number {
  if (!(ms >= 1)) return 0;
  const i = Math.floor(Math.log2(ms) * BUCKETS_PER_DOUBLING);
  return i >= HISTOGRAM_BUCKETS ? HISTOGRAM_BUCKETS - 1 : i;
}

/** The value a bucket reads as, ms: the geometric middle of its bounds. */
export function bucketValueMs(i: number): number {
  return 2 ** ((i + 0.5) / BUCKETS_PER_DOUBLING);
}

/**
 * The q-quantile (0 < q ≤ 1, nearest rank) of `total` samples counted in
 * `counts[offset … offset + HISTOGRAM_BUCKETS)`, ms; `undefined` when `total` is 0.
 */
export function quantileMs(counts: ArrayLike<number>, offset: number, total: number, q: number): number | undefined {
  if (total <= 0) return undefined;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < HISTOGRAM_BUCKETS; i++) {
    seen += counts[offset + i]!;
    if (seen >= rank) return bucketValueMs(i);
  }
  return bucketValueMs(HISTOGRAM_BUCKETS - 1);
}
