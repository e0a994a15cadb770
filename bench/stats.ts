/** Small numeric helpers; every latency in the benchmark is in milliseconds (float). */

export interface Dist {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function sorted(values: readonly number[]): Float64Array {
  return Float64Array.from(values).sort();
}

/** Nearest-rank percentile of an ascending array (p in 0..100). */
export function pct(s: ArrayLike<number>, p: number): number {
  if (s.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))]!;
}

export function dist(values: readonly number[]): Dist | null {
  if (values.length === 0) return null;
  const s = sorted(values);
  let sum = 0;
  for (const v of s) sum += v;
  return { n: s.length, p50: r3(pct(s, 50)), p90: r3(pct(s, 90)), p99: r3(pct(s, 99)), max: r3(s[s.length - 1]!), mean: r3(sum / s.length) };
}

export function median(values: readonly number[]): number {
  const xs = values.filter((v) => Number.isFinite(v));
  if (xs.length === 0) return Number.NaN;
  const s = sorted(xs);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Half the spread of per-round values: the benchmark's noise estimate for one metric. */
export function halfRange(values: readonly number[]): number {
  const xs = values.filter((v) => Number.isFinite(v));
  if (xs.length < 2) return Number.NaN;
  return (Math.max(...xs) - Math.min(...xs)) / 2;
}

/** A value with its per-round spread, as stored in the JSON result. */
export interface Est {
  value: number;
  noise: number;
  rounds: number[];
}

export function est(rounds: readonly number[]): Est {
  return { value: r3(median(rounds)), noise: r3(halfRange(rounds)), rounds: rounds.map(r3) };
}

/** Rounds to 3 decimals (µs for milliseconds); NaN becomes NaN (serialized as null). */
export function r3(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 1000) / 1000 : Number.NaN;
}
