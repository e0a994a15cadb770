import { dist, median, r3, type Dist } from '../stats.ts';
import type { EnvInfo } from '../env-info.ts';
import type { AnchorPathId, AnchorRawPath, AnchorSettings, SliceCounts } from './suite.ts';

/** Percentiles (ms) over all samples of all rounds pooled, and the same minus bare Envoy's same percentile. */
export interface PooledLatency {
  dist: Dist | null;
  /** p50/p90/p99/max minus bare Envoy's (ms); null on bare Envoy itself or when either has no samples. */
  added: { p50: number; p90: number; p99: number; max: number } | null;
}

export interface AnchorPathResult {
  id: AnchorPathId;
  label: string;
  c1: PooledLatency;
  c10: PooledLatency;
  ttfb: PooledLatency;
  /** Medians over rounds, 2xx per second. */
  c10Rps: number;
  satRps: number;
  /** satRps / AIGW's satRps (null without AIGW, and on AIGW itself). */
  satVsAigw: number | null;
  /** Medians over the saturation slices, µs of CPU per 2xx request; NaN when the path has no ext_proc. */
  envoyCpuUs: number;
  extprocCpuUs: number;
  envoyPeakMB: number;
  extprocPeakMB: number;
  counts: SliceCounts;
}

export type GoalStatus = 'met' | 'missed' | 'not measured';

export interface GoalCheck {
  /** What issue 11 asks, in words. */
  goal: string;
  path: AnchorPathId;
  /** What was measured and what it is held against, with units. */
  measured: string;
  status: GoalStatus;
}

export interface AnchorResult {
  kind: 'anchors';
  mode: 'full' | 'quick';
  /** Set when the run was shorter than its mode's default (`custom run: 1 round × 0.5 s`); such runs never replace anchors-latest.*. */
  custom?: string;
  startedAt: string;
  env: EnvInfo;
  settings: AnchorSettings;
  /** How our Envoys reach our ext_procs (bench --extproc-uds); AIGW's is always a Unix socket. */
  extprocTransport: 'tcp' | 'uds';
  /** The AIGW ext_proc measured (binary, version), or why it was left out. */
  aigw: { binary: string; version: string } | { missing: string };
  paths: AnchorPathResult[];
  goals: GoalCheck[];
  /** Non-2xx answers or transport errors, per path; a run with any is reported, not hidden. */
  problems: string[];
}

/** The gateway paths the goals are checked on; the goals are for the full gateway with policies on. */
export const GOAL_PATHS: readonly AnchorPathId[] = ['gateway-policies-embedded', 'gateway-openai', 'gateway-policies-redis'];

/** Issue 11's targets: p50 added ≤ 0.5 ms, throughput ≥ 1.25 × AIGW's, ext_proc peak RSS ≤ 80 MB. */
export const GOAL_LIMITS = { addedP50Ms: 0.5, satVsAigw: 1.25, extprocPeakMB: 80 } as const;

function pooled(rounds: readonly number[][], bare: Dist | null | undefined): PooledLatency {
  const d = dist(rounds.flat());
  const added = d && bare ? { p50: r3(d.p50 - bare.p50), p90: r3(d.p90 - bare.p90), p99: r3(d.p99 - bare.p99), max: r3(d.max - bare.max) } : null;
  return { dist: d, added };
}

/** Two decimals, rounded as the report's tables round them (toLocaleString), so the goals quote the tables' numbers. */
const two = (x: number): string => x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const mb = (x: number): string => (Number.isFinite(x) ? `${x.toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 })} MB` : '—');
const ms = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '—' : `${two(x)} ms`);
const signedMs = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '—' : `${x < 0 ? '−' : '+'}${two(Math.abs(x))} ms`);

/** Summarizes the raw rounds: pooled percentiles, added over bare Envoy, medians over rounds, ratios to AIGW. */
export function summarize(raw: readonly AnchorRawPath[]): AnchorPathResult[] {
  const bare = raw.find((p) => p.id === 'bare-openai');
  const bareDist = { c1: bare ? dist(bare.c1.flat()) : null, c10: bare ? dist(bare.c10.flat()) : null, ttfb: bare ? dist(bare.ttfb.flat()) : null };
  const aigw = raw.find((p) => p.id === 'aigw-openai');
  const aigwSat = aigw ? median(aigw.satRps) : Number.NaN;
  return raw.map((p) => {
    const isBare = p.id === 'bare-openai';
    const satRps = r3(median(p.satRps));
    return {
      id: p.id,
      label: p.label,
      c1: pooled(p.c1, isBare ? null : bareDist.c1),
      c10: pooled(p.c10, isBare ? null : bareDist.c10),
      ttfb: pooled(p.ttfb, isBare ? null : bareDist.ttfb),
      c10Rps: r3(median(p.c10Rps)),
      satRps,
      satVsAigw: aigw && p.id !== 'aigw-openai' && Number.isFinite(aigwSat) && aigwSat > 0 ? r3(satRps / aigwSat) : null,
      envoyCpuUs: r3(median(p.envoyCpuUs)),
      extprocCpuUs: r3(median(p.extprocCpuUs)),
      envoyPeakMB: r3(p.envoyPeakMB),
      extprocPeakMB: r3(p.extprocPeakMB),
      counts: { ...p.counts },
    };
  });
}

/**
 * Issue 11's goals, checked on each gateway path present: c=1 and c=10 p99 ≤ AIGW's; c=1 p50 added ≤ 0.5 ms; stream
 * TTFB p50 added ≤ 0.5 ms and p99 ≤ AIGW's; saturation throughput ≥ 1.25 × AIGW's; ext_proc peak RSS ≤ 80 MB. A goal
 * held against AIGW is `not measured` without it, and any goal whose numbers are missing likewise.
 */
export function checkGoals(paths: readonly AnchorPathResult[]): GoalCheck[] {
  const aigw = paths.find((p) => p.id === 'aigw-openai');
  const out: GoalCheck[] = [];
  for (const id of GOAL_PATHS) {
    const p = paths.find((x) => x.id === id);
    if (!p) continue;
    const vsAigw = (goal: string, ours: number | undefined, theirs: number | undefined): void => {
      const known = ours !== undefined && Number.isFinite(ours) && theirs !== undefined && Number.isFinite(theirs);
      out.push({ goal, path: id, measured: aigw ? `${ms(ours)} vs AIGW ${ms(theirs)}` : `${ms(ours)}; AIGW not measured`, status: !aigw || !known ? 'not measured' : ours <= theirs ? 'met' : 'missed' });
    };
    const atMost = (goal: string, value: number | undefined, limit: number, text: string): void => {
      const known = value !== undefined && Number.isFinite(value);
      out.push({ goal, path: id, measured: text, status: !known ? 'not measured' : value <= limit + 1e-9 ? 'met' : 'missed' });
    };
    vsAigw('c=1 p99 ≤ AIGW', p.c1.dist?.p99, aigw?.c1.dist?.p99);
    vsAigw('c=10 p99 ≤ AIGW', p.c10.dist?.p99, aigw?.c10.dist?.p99);
    atMost('c=1 p50 added ≤ 0.5 ms', p.c1.added?.p50, GOAL_LIMITS.addedP50Ms, `${signedMs(p.c1.added?.p50)} over bare Envoy`);
    atMost('stream TTFB p50 added ≤ 0.5 ms', p.ttfb.added?.p50, GOAL_LIMITS.addedP50Ms, `${signedMs(p.ttfb.added?.p50)} over bare Envoy`);
    vsAigw('stream TTFB p99 ≤ AIGW', p.ttfb.dist?.p99, aigw?.ttfb.dist?.p99);
    const ratio = p.satVsAigw ?? Number.NaN;
    out.push({
      goal: 'throughput at saturation ≥ 1.25 × AIGW',
      path: id,
      measured: aigw
        ? `${Math.round(p.satRps).toLocaleString('en-US')} vs AIGW ${Math.round(aigw.satRps).toLocaleString('en-US')} req/s (× ${Number.isFinite(ratio) ? two(ratio) : '—'})`
        : `${Math.round(p.satRps).toLocaleString('en-US')} req/s; AIGW not measured`,
      status: !aigw || !Number.isFinite(ratio) ? 'not measured' : ratio >= GOAL_LIMITS.satVsAigw ? 'met' : 'missed',
    });
    atMost('ext_proc peak RSS ≤ 80 MB', p.extprocPeakMB, GOAL_LIMITS.extprocPeakMB, `${mb(p.extprocPeakMB)} (AIGW ${aigw ? mb(aigw.extprocPeakMB) : '—'})`);
  }
  return out;
}

/** One line per path that got a non-2xx answer or a transport error. */
export function problemsOf(paths: readonly AnchorPathResult[]): string[] {
  return paths.filter((p) => p.counts.non2xx > 0 || p.counts.errors > 0).map((p) => `${p.id}: ${p.counts.non2xx} non-2xx, ${p.counts.errors} errors of ${p.counts.ok + p.counts.non2xx + p.counts.errors}`);
}
