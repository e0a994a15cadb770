import { dist, sorted, pct, type Dist } from '../stats.ts';

/** One request as the client saw it: wall-clock start (ms since the epoch) and latency (ms). */
export interface TimedRequest {
  readonly startMs: number;
  readonly latencyMs: number;
}

/** An interval in the ext_proc (bench/tail/gc-probe.mjs): wall-clock start (ms) and length (ms). */
export interface Interval {
  readonly startMs: number;
  readonly durationMs: number;
}

export interface GcEvent extends Interval {
  /** V8's kind bits: 1 minor (scavenge), 2 major (mark-compact), 4 incremental marking, 8 weak callbacks. */
  readonly kind: number;
}

/** How many requests of a latency band met a GC, an event-loop gap, either, or neither. */
export interface Band {
  readonly label: string;
  readonly requests: number;
  readonly withGc: number;
  readonly withGap: number;
  /** Met neither: the time went elsewhere (Envoy, the transport, the provider, the client). */
  readonly withNeither: number;
}

export interface TailAttribution {
  readonly latency: Dist;
  readonly bands: readonly Band[];
  readonly gc: { readonly minor: number; readonly major: number; readonly other: number; readonly pauseMs: Dist | null };
  readonly gaps: { readonly count: number; readonly ms: Dist | null };
}

const overlaps = (r: TimedRequest, i: Interval): boolean => i.startMs < r.startMs + r.latencyMs && i.startMs + i.durationMs > r.startMs;

/**
 * Which requests of each latency band (below p90, p90–p99, the slowest 1 %) overlapped a GC or
 * an event-loop gap in the ext_proc while they ran. Only events inside the requests' time span
 * count. A request overlapping both counts in both columns. Throws nothing; empty input gives
 * empty bands.
 */
export function attributeTail(requests: readonly TimedRequest[], gcs: readonly GcEvent[], gaps: readonly Interval[]): TailAttribution {
  const lat = sorted(requests.map((r) => r.latencyMs));
  const p90 = pct(lat, 90);
  const p99 = pct(lat, 99);
  const from = Math.min(...requests.map((r) => r.startMs));
  const to = Math.max(...requests.map((r) => r.startMs + r.latencyMs));
  const inSpan = <T extends Interval>(xs: readonly T[]): T[] => xs.filter((x) => x.startMs + x.durationMs >= from && x.startMs <= to);
  const g = inSpan(gcs);
  const s = inSpan(gaps);
  // Events sorted by start: a request only scans those that can reach it.
  const byStart = <T extends Interval>(xs: T[]): T[] => xs.sort((a, b) => a.startMs - b.startMs);
  byStart(g);
  byStart(s);
  const longestGc = Math.max(0, ...g.map((e) => e.durationMs));
  const longestGap = Math.max(0, ...s.map((e) => e.durationMs));
  const meets = (r: TimedRequest, xs: readonly Interval[], longest: number): boolean => {
    let lo = 0;
    let hi = xs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (xs[mid]!.startMs < r.startMs - longest) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < xs.length && xs[i]!.startMs < r.startMs + r.latencyMs; i++) if (overlaps(r, xs[i]!)) return true;
    return false;
  };
  const band = (label: string, pick: (r: TimedRequest) => boolean): Band => {
    let requestsIn = 0;
    let withGc = 0;
    let withGap = 0;
    let withNeither = 0;
    for (const r of requests) {
      if (!pick(r)) continue;
      requestsIn++;
      const a = meets(r, g, longestGc);
      const b = meets(r, s, longestGap);
      if (a) withGc++;
      if (b) withGap++;
      if (!a && !b) withNeither++;
    }
    return { label, requests: requestsIn, withGc, withGap, withNeither };
  };
  return {
    latency: dist(requests.map((r) => r.latencyMs)) ?? { n: 0, p50: Number.NaN, p90: Number.NaN, p99: Number.NaN, max: Number.NaN, mean: Number.NaN },
    bands: requests.length === 0 ? [] : [band('below p90', (r) => r.latencyMs < p90), band('p90 to p99', (r) => r.latencyMs >= p90 && r.latencyMs < p99), band('p99 and above', (r) => r.latencyMs >= p99)],
    gc: {
      minor: g.filter((e) => e.kind & 1).length,
      major: g.filter((e) => e.kind & 2).length,
      other: g.filter((e) => !(e.kind & 3)).length,
      pauseMs: dist(g.map((e) => e.durationMs)),
    },
    gaps: { count: s.length, ms: dist(s.map((e) => e.durationMs)) },
  };
}
