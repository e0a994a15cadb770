import { sorted } from './stats.ts';

/**
 * The soak's verdicts (`npm run bench -- --soak`, docs/benchmark.md *Soak*), a pure function of
 * what the run measured. Three are rules of the run (any one failing → exit 1):
 * - **no failures**: every request sent got a 2xx with a valid body (any failure fails the run);
 * - **RSS flat**, for the ext_proc and its Envoy: the median of the last minute's samples is
 *   within `RSS_TOLERANCE_MB` of the first settled minute's, and the slope fitted to the samples
 *   from the settled start on, × the run's minutes, is ≤ `RSS_TOLERANCE_MB`;
 * - **p99 stable**, per series: the median of the last minute's window p99s is
 *   ≤ `P99_FACTOR` × the first settled minute's + `P99_SLACK_MS`, both finite. A window's
 *   percentiles are over every request sent (`percentileOfSent`), so a window with over 1 %
 *   failed has an infinite p99: an overloaded run cannot look stable by dropping its timeouts.
 * One is reported only: the ext_proc's peak RSS against issue 11's goal (`PEAK_RSS_GOAL_MB`).
 */

export const RSS_TOLERANCE_MB = 10;
export const P99_FACTOR = 1.5;
export const P99_SLACK_MS = 1;
export const PEAK_RSS_GOAL_MB = 80;

/** What the soak judges p99 on: JSON, translated JSON, stream time to first byte and to its end. */
export const P99_SERIES = ['json', 'translated', 'streamTtfb', 'streamTotal'] as const;
export type P99Series = (typeof P99_SERIES)[number];

/** One RSS sample: `t` s since the load started, `v` MB. */
export interface RssPoint {
  t: number;
  v: number;
}

export interface VerdictWindow {
  /** Start of the window, s since the load started. */
  tS: number;
  sent: number;
  failed: number;
  /** ms, `percentileOfSent`: Infinity when over 1 % of the window's requests failed, NaN when it sent none. */
  p99: Record<P99Series, number>;
}

/**
 * The p-th percentile (nearest rank, p in 0..100) of `latencies` (ms, the answered requests) with
 * `failed` more requests counted as slower than any answer: Infinity when the rank falls among
 * them, NaN when there is no request at all.
 */
export function percentileOfSent(latencies: readonly number[], failed: number, p: number): number {
  const n = latencies.length + Math.max(0, failed);
  if (n === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * n));
  return rank > latencies.length ? Number.POSITIVE_INFINITY : sorted(latencies)[rank - 1]!;
}

/** Median that keeps Infinity (a window too slow to measure) and drops only NaN (no data). */
export function medianOf(values: readonly number[]): number {
  const s = sorted(values.filter((v) => !Number.isNaN(v)));
  if (s.length === 0) return Number.NaN;
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface VerdictInput {
  /** The run's planned length in minutes (the slope rule extrapolates over it). */
  minutes: number;
  windows: readonly VerdictWindow[];
  rss: { extproc: readonly RssPoint[]; envoy: readonly RssPoint[] };
  /** Highest ext_proc RSS seen (sampled or VmHWM), MB. */
  peakExtprocRssMB: number;
}

export interface FlatVerdict {
  pass: boolean;
  /** MB: median of the first settled minute, of the last minute, and their difference. */
  settledMB: number;
  finalMB: number;
  growthMB: number;
  /** MB/min, least squares over the samples from the settled start on (NaN under 3 samples). */
  slopeMBPerMin: number;
  /** slope × minutes, MB. */
  projectedMB: number;
}

export interface P99Verdict {
  pass: boolean;
  /** ms: median window p99 of the first settled minute, of the last minute, and the limit. */
  firstMs: number;
  lastMs: number;
  limitMs: number;
}

export interface SoakVerdicts {
  /** Where the "first settled minute" starts, s since the load started. */
  settledFromS: number;
  failures: { pass: boolean; sent: number; failed: number };
  rssFlat: { pass: boolean; extproc: FlatVerdict; envoy: FlatVerdict };
  p99Stable: { pass: boolean; series: Record<P99Series, P99Verdict> };
  peakRss: { extprocMB: number; goalMB: number; withinGoal: boolean };
  /** All rules of the run hold (failures, RSS flat, p99 stable); the peak RSS is not one. */
  pass: boolean;
}

/** The first minute is warm-up (JIT, pools, heap growth): judging starts after it, or after a fifth of a short run. */
export function settledFromS(minutes: number): number {
  return Math.min(60, (minutes * 60) / 5);
}

/** Least-squares slope of v over t, per minute (t in s). */
export function slopePerMin(points: readonly RssPoint[]): number {
  if (points.length < 3) return Number.NaN;
  const n = points.length;
  const mt = points.reduce((s, p) => s + p.t, 0) / n;
  const mv = points.reduce((s, p) => s + p.v, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.v - mv);
    den += (p.t - mt) ** 2;
  }
  return den > 0 ? (num / den) * 60 : Number.NaN;
}

const round = (x: number, digits: number): number => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : x);

function flat(series: readonly RssPoint[], from: number, minutes: number): FlatVerdict {
  const settled = medianOf(series.filter((p) => p.t >= from && p.t < from + 60).map((p) => p.v));
  const lastT = series.at(-1)?.t ?? 0;
  const final = medianOf(series.filter((p) => p.t > lastT - 60).map((p) => p.v));
  const slope = slopePerMin(series.filter((p) => p.t >= from));
  const growth = final - settled;
  const projected = slope * minutes;
  // No samples is no evidence: not flat. Too few for a slope (a very short run) judges growth alone.
  const pass = Number.isFinite(growth) && growth <= RSS_TOLERANCE_MB && (!Number.isFinite(projected) || projected <= RSS_TOLERANCE_MB);
  return { pass, settledMB: round(settled, 1), finalMB: round(final, 1), growthMB: round(growth, 1), slopeMBPerMin: round(slope, 2), projectedMB: round(projected, 1) };
}

function p99Stable(windows: readonly VerdictWindow[], s: P99Series, from: number): P99Verdict {
  const lastStart = windows.at(-1)?.tS ?? 0;
  const first = medianOf(windows.filter((w) => w.tS >= from && w.tS < from + 60).map((w) => w.p99[s]));
  // The last minute: the windows that end within its 60 s (start after the last start − 60 s).
  const last = medianOf(windows.filter((w) => w.tS > lastStart - 60).map((w) => w.p99[s]));
  const limit = P99_FACTOR * first + P99_SLACK_MS;
  return { pass: Number.isFinite(first) && Number.isFinite(last) && last <= limit, firstMs: round(first, 3), lastMs: round(last, 3), limitMs: round(limit, 3) };
}

export function soakVerdicts(i: VerdictInput): SoakVerdicts {
  const from = settledFromS(i.minutes);
  const sent = i.windows.reduce((s, w) => s + w.sent, 0);
  const failed = i.windows.reduce((s, w) => s + w.failed, 0);
  const failures = { pass: sent > 0 && failed === 0, sent, failed };
  const extproc = flat(i.rss.extproc, from, i.minutes);
  const envoy = flat(i.rss.envoy, from, i.minutes);
  const rssFlat = { pass: extproc.pass && envoy.pass, extproc, envoy };
  const series = Object.fromEntries(P99_SERIES.map((s) => [s, p99Stable(i.windows, s, from)])) as Record<P99Series, P99Verdict>;
  const stable = { pass: P99_SERIES.every((s) => series[s].pass), series };
  const peak = round(i.peakExtprocRssMB, 1);
  return {
    settledFromS: from,
    failures,
    rssFlat,
    p99Stable: stable,
    peakRss: { extprocMB: peak, goalMB: PEAK_RSS_GOAL_MB, withinGoal: Number.isFinite(peak) && peak <= PEAK_RSS_GOAL_MB },
    pass: failures.pass && rssFlat.pass && stable.pass,
  };
}
