import type { EnvInfo } from './env-info.ts';
import { gatewayProcs, POLICIES_OFF_PATH, type PathDef, type PathId } from './paths.ts';
import type { Profile } from './profiles.ts';
import type { RoutePlanningResult } from './routing-order.ts';
import { summarize, type OverheadSummary } from './prom.ts';
import type { CpuSnapshot } from './sampler.ts';
import type { Settings } from './settings.ts';
import { dist, est, pct, r3, sorted, type Dist, type Est } from './stats.ts';
import { gapsOf } from './stream-probe.ts';
import { cellKey, type RawCell, type RawRun, type Slice } from './suite.ts';

/** CPU per 2xx response (µs) and average cores used, by role. */
export interface CpuUse {
  usPerReq: Record<string, number>;
  cores: Record<string, number>;
}

export interface CellResult {
  path: PathId;
  profile: Profile['id'];
  saturation: { connections: number; rps: Est; ok: number; non2xx: number; errors: number; statuses: Record<string, number>; latency: Dist | null; cpu: CpuUse } | null;
  /** Concurrency 1 (for streams: the probe's whole-stream time). */
  c1: { ok: number; non2xx: number; errors: number; statuses: Record<string, number>; latency: Dist | null; overheadHeader: Dist | null } | null;
  rates: Array<{
    rate: number;
    sent: number;
    ok: number;
    non2xx: number;
    errors: number;
    statuses: Record<string, number>;
    achievedRps: number;
    latency: Dist | null;
    ttfb: Dist | null;
    /** The generator's own lateness: large values mean the machine, not the path, was saturated. */
    sendLag: Dist | null;
    overheadHeader: Dist | null;
    cpu: CpuUse;
  }>;
  stream: { n: number; ok: number; contentEvents: number; ttft: Dist | null; gap: Dist | null; overheadHeader: Dist | null } | null;
  /** gateway_extproc_overhead_seconds over all of this cell's slices (all phases, both filters). */
  overheadMetric: OverheadSummary | null;
  /**
   * Policy path on Redis, per request the gateway finished (INFO commandstats over the cell's
   * slices ÷ requests): `calls` = commands the gateway sent (EVALSHA/EVAL: every state call on
   * this path is one script, so one round trip each, or less when pipelined); `inScripts` = the
   * commands those scripts ran inside Redis; `byCommand` every command.
   */
  redisCommands?: { calls: number; inScripts: number; byCommand: Record<string, number>; requests: number };
}

/** A path against the bare-Envoy path to the same provider, round by round. ms unless noted. */
export interface PairResult {
  path: PathId;
  baseline: PathId;
  profile: Profile['id'];
  /** Saturation throughput ratio path / bare. */
  satRatio: Est | null;
  /** Added latency at concurrency 1. */
  c1: { p50: Est; p90: Est; p99: Est; max: Est } | null;
  rates: Array<{ rate: number; p50: Est; p90: Est; p99: Est; max: Est }>;
  stream: { ttft: Est; gapP50: Est; gapP99: Est } | null;
}

export interface TargetResult {
  /** The path measured, or `in-process` for a measurement without Envoy (per-request planning). */
  path: PathId | 'in-process';
  what: string;
  target: string;
  value: number | null;
  unit: string;
  met: boolean | null;
}

export interface BenchResult {
  schema: 1;
  mode: Settings['mode'];
  startedAt: string;
  finishedAt: string;
  wallS: number;
  env: EnvInfo;
  settings: Settings;
  paths: PathDef[];
  profiles: Profile[];
  cells: CellResult[];
  pairs: PairResult[];
  /** Whole run: CPU seconds and peak RSS (max of sampled VmRSS and VmHWM). */
  processes: Record<string, { cpuS: number; peakRssMB: number }>;
  targets: TargetResult[];
  problems: string[];
  broken: boolean;
  /** Set when the gateway ran with another Envoy template than envoy/envoy.yaml. */
  gatewayEnvoyTemplate?: string;
  /**
   * The policy paths against the gateway without policies (`gateway-openai`), round by round:
   * what the policies add (`satRatio` = throughput with / without; `c1` = added latency).
   */
  policyPairs?: PairResult[];
  /** What per-request planning adds: routeRequest per strategy, in-process, µs per request (bench/routing-order.ts). */
  routing?: RoutePlanningResult;
}

function roleCpu(path: PathDef, cpu: CpuSnapshot): Record<string, number> {
  const out: Record<string, number> = { loadgen: cpu['loadgen'] ?? Number.NaN, sim: cpu[`sim-${path.provider}`] ?? Number.NaN };
  if (path.kind === 'gateway') {
    const procs = gatewayProcs(path);
    out['extproc'] = cpu[procs.extproc] ?? Number.NaN;
    out['envoy'] = cpu[procs.envoy] ?? Number.NaN;
    if (path.policies === 'redis') out['redis'] = cpu['redis'] ?? Number.NaN;
  } else if (path.kind === 'bare') out['envoy'] = cpu['envoy-bare'] ?? Number.NaN;
  return out;
}

function cpuUse(path: PathDef, slices: Array<Slice<{ ok: number; durationS: number }>>): CpuUse {
  const total: Record<string, number> = {};
  let ok = 0;
  let secs = 0;
  for (const s of slices) {
    ok += s.run.ok;
    secs += s.run.durationS;
    for (const [k, v] of Object.entries(roleCpu(path, s.cpu))) total[k] = (total[k] ?? 0) + v;
  }
  const usPerReq: Record<string, number> = {};
  const cores: Record<string, number> = {};
  for (const [k, v] of Object.entries(total)) {
    usPerReq[k] = ok > 0 ? Math.round((v / ok) * 1e6) : Number.NaN;
    cores[k] = secs > 0 ? Math.round((v / secs) * 100) / 100 : Number.NaN;
  }
  return { usPerReq, cores };
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

/** Commands that run a script: what the state layer sends (src/state/redis/scripts.ts). */
const SCRIPT_CALLS = new Set(['evalsha', 'eval', 'evalsha_ro', 'eval_ro', 'fcall']);

function mergeStatuses(list: Array<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of list) for (const [k, v] of Object.entries(m)) out[k] = (out[k] ?? 0) + v;
  return out;
}

function summarizeCell(c: RawCell): CellResult {
  const sat = c.sat.length
    ? {
        connections: c.sat[0]!.run.connections,
        rps: est(c.sat.map((s) => s.run.rps)),
        ok: sum(c.sat.map((s) => s.run.ok)),
        non2xx: sum(c.sat.map((s) => s.run.non2xx)),
        errors: sum(c.sat.map((s) => s.run.errors + s.run.timeouts)),
        statuses: mergeStatuses(c.sat.map((s) => s.run.statuses)),
        latency: dist(c.sat.flatMap((s) => s.run.latencies)),
        cpu: cpuUse(c.path, c.sat),
      }
    : null;
  let c1: CellResult['c1'] = null;
  if (c.c1.length) {
    c1 = {
      ok: sum(c.c1.map((s) => s.run.ok)),
      non2xx: sum(c.c1.map((s) => s.run.non2xx)),
      errors: sum(c.c1.map((s) => s.run.errors)),
      statuses: mergeStatuses(c.c1.map((s) => s.run.statuses)),
      latency: dist(c.c1.flatMap((s) => s.run.latencies)),
      overheadHeader: dist(c.c1.flatMap((s) => s.run.overhead)),
    };
  } else if (c.streams.length) {
    const good = c.streams.filter((t) => t.ok);
    c1 = {
      ok: good.length,
      non2xx: c.streams.filter((t) => t.status !== 0 && (t.status < 200 || t.status >= 300)).length,
      errors: c.streams.filter((t) => t.status === 0).length,
      statuses: mergeStatuses(c.streams.map((t) => ({ [String(t.status)]: 1 }))),
      latency: dist(good.map((t) => t.totalMs)),
      overheadHeader: dist(good.flatMap((t) => (t.overheadMs === undefined ? [] : [t.overheadMs]))),
    };
  }
  const rates = [...c.rates.entries()].map(([rate, slices]) => {
    const ok = sum(slices.map((s) => s.run.ok));
    return {
      rate,
      sent: sum(slices.map((s) => s.run.sent)),
      ok,
      non2xx: sum(slices.map((s) => s.run.non2xx)),
      errors: sum(slices.map((s) => s.run.errors + s.run.timeouts)),
      statuses: mergeStatuses(slices.map((s) => s.run.statuses)),
      achievedRps: Math.round(ok / Math.max(1e-9, sum(slices.map((s) => s.run.durationS)))),
      latency: dist(slices.flatMap((s) => s.run.latencies)),
      ttfb: dist(slices.flatMap((s) => s.run.ttfb)),
      sendLag: dist(slices.flatMap((s) => s.run.lag)),
      overheadHeader: dist(slices.flatMap((s) => s.run.overhead)),
      cpu: cpuUse(c.path, slices),
    };
  });
  let stream: CellResult['stream'] = null;
  if (c.streams.length) {
    const good = c.streams.filter((t) => t.ok);
    const counts = sorted(good.map((t) => t.contentAt.length));
    stream = {
      n: c.streams.length,
      ok: good.length,
      contentEvents: counts.length ? pct(counts, 50) : 0,
      ttft: dist(good.map((t) => t.ttftMs)),
      gap: dist(good.flatMap(gapsOf)),
      overheadHeader: dist(good.flatMap((t) => (t.overheadMs === undefined ? [] : [t.overheadMs]))),
    };
  }
  const out: CellResult = { path: c.path.id, profile: c.profile.id, saturation: sat, c1, rates, stream, overheadMetric: summarize(c.overhead) };
  if (c.redisCalls && c.redisCalls.requests > 0) {
    const n = c.redisCalls.requests;
    const byCommand: Record<string, number> = {};
    for (const [cmd, calls] of Object.entries(c.redisCalls.calls)) if (calls > 0) byCommand[cmd] = r3(calls / n);
    const calls = sum(Object.entries(c.redisCalls.calls).filter(([k]) => SCRIPT_CALLS.has(k)).map(([, v]) => v));
    const all = sum(Object.values(c.redisCalls.calls));
    out.redisCommands = { calls: r3(calls / n), inScripts: r3((all - calls) / n), byCommand, requests: n };
  }
  return out;
}

/** Per-round differences path − baseline of a percentile of two sample sets. */
function diffRounds(a: number[][], b: number[][], p: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i]!.length === 0 || b[i]!.length === 0) continue;
    out.push(pct(sorted(a[i]!), p) - pct(sorted(b[i]!), p));
  }
  return out;
}

/** Pooled-percentile difference as the value, per-round differences for the noise. */
function pooledDiff(a: number[][], b: number[][], p: number): Est {
  const rounds = diffRounds(a, b, p);
  const value = pct(sorted(a.flat()), p) - pct(sorted(b.flat()), p);
  const e = est(rounds);
  return { ...e, value: r3(value) };
}

function pairOf(c: RawCell, base: RawCell): PairResult {
  const satRatio = c.sat.length && base.sat.length ? est(c.sat.map((s, i) => s.run.rps / (base.sat[i]?.run.rps ?? Number.NaN))) : null;
  let c1: PairResult['c1'] = null;
  const lat = (slices: Array<Slice<{ latencies: number[] }>>): number[][] => slices.map((s) => s.run.latencies);
  if (c.c1.length && base.c1.length) {
    const a = lat(c.c1);
    const b = lat(base.c1);
    c1 = { p50: pooledDiff(a, b, 50), p90: pooledDiff(a, b, 90), p99: pooledDiff(a, b, 99), max: pooledDiff(a, b, 100) };
  }
  let stream: PairResult['stream'] = null;
  if (c.streams.length && base.streams.length) {
    const n = Math.min(c.streams.length, base.streams.length);
    const ttft: number[] = [];
    const ga: number[][] = [];
    const gb: number[][] = [];
    for (let i = 0; i < n; i++) {
      const x = c.streams[i]!;
      const y = base.streams[i]!;
      if (!x.ok || !y.ok) continue;
      ttft.push(x.ttftMs - y.ttftMs);
      ga.push(gapsOf(x));
      gb.push(gapsOf(y));
    }
    stream = { ttft: est(ttft), gapP50: pooledDiff(ga, gb, 50), gapP99: pooledDiff(ga, gb, 99) };
    if (c1 === null) {
      const a = c.streams.filter((t) => t.ok).map((t) => [t.totalMs]);
      const b = base.streams.filter((t) => t.ok).map((t) => [t.totalMs]);
      c1 = { p50: pooledDiff(a, b, 50), p90: pooledDiff(a, b, 90), p99: pooledDiff(a, b, 99), max: pooledDiff(a, b, 100) };
    }
  }
  const rates: PairResult['rates'] = [];
  for (const [rate, slices] of c.rates) {
    const bs = base.rates.get(rate);
    if (!bs) continue;
    const a = lat(slices);
    const b = lat(bs);
    rates.push({ rate, p50: pooledDiff(a, b, 50), p90: pooledDiff(a, b, 90), p99: pooledDiff(a, b, 99), max: pooledDiff(a, b, 100) });
  }
  return { path: c.path.id, baseline: base.path.id, profile: c.profile.id, satRatio, c1, rates, stream };
}

function targetsOf(cells: CellResult[], pairs: PairResult[], processes: BenchResult['processes'], paths: PathDef[], routing: RoutePlanningResult | undefined): TargetResult[] {
  const out: TargetResult[] = [];
  // issue 9: per-request planning adds at most 0.02 ms of handler time, per strategy.
  for (const r of routing?.rows ?? []) {
    out.push({ path: 'in-process', what: `per-request planning (routeRequest): ${r.case}`, target: `≤ ${routing!.targetUs}`, value: r.us, unit: 'µs/req', met: Number.isFinite(r.us) ? r.us <= routing!.targetUs : null });
  }
  const pair = (path: PathId, profile: Profile['id']): PairResult | undefined => pairs.find((p) => p.path === path && p.profile === profile);
  const cell = (path: PathId, profile: Profile['id']): CellResult | undefined => cells.find((c) => c.path === path && c.profile === profile);
  const add = (path: PathId, what: string, target: string, value: number | undefined | null, unit: string, ok: (v: number) => boolean): void => {
    const v = value === undefined || value === null || !Number.isFinite(value) ? null : r3(value);
    out.push({ path, what, target, value: v, unit, met: v === null ? null : ok(v) });
  };
  for (const p of paths.filter((x) => x.kind === 'gateway' && !x.policies)) {
    const inst = pair(p.id, 'instant');
    add(p.id, 'added latency, c=1, instant, p50', '≤ 0.5', inst?.c1?.p50.value, 'ms', (v) => v <= 0.5);
    add(p.id, 'added latency, c=1, instant, p99', '≤ 1.5', inst?.c1?.p99.value, 'ms', (v) => v <= 1.5);
    const st = pair(p.id, 'stream64');
    add(p.id, 'added TTFT (median of pairs)', '≤ 0.5', st?.stream?.ttft.value, 'ms', (v) => v <= 0.5);
    add(p.id, 'added inter-chunk gap, p99', '≤ 0.1', st?.stream?.gapP99.value, 'ms', (v) => v <= 0.1);
    const sat = cell(p.id, 'instant')?.saturation?.rps.value;
    add(p.id, 'throughput at saturation, instant', '≥ 3000', sat, 'rps', (v) => v >= 3000);
    add(p.id, 'throughput vs bare Envoy, instant', '≥ 0.40', inst?.satRatio?.value, '×', (v) => v >= 0.4);
    const r1000 = inst?.rates.find((r) => r.rate === 1000);
    add(p.id, 'added p99 at 1000 rps open loop, instant', '≤ 5', r1000?.p99.value, 'ms', (v) => v <= 5);
    const c1000 = cell(p.id, 'instant')?.rates.find((r) => r.rate === 1000);
    add(p.id, 'errors + non-2xx at 1000 rps, instant', '= 0', c1000 ? c1000.errors + c1000.non2xx : undefined, '', (v) => v === 0);
  }
  // issue 8: the embedded policies add at most 0.05 ms per request (the ext_proc's CPU, at saturation).
  const off = cell(POLICIES_OFF_PATH, 'instant')?.saturation?.cpu.usPerReq['extproc'];
  for (const p of paths.filter((x) => x.policies === 'embedded')) {
    const on = cell(p.id, 'instant')?.saturation?.cpu.usPerReq['extproc'];
    add(p.id, 'ext_proc CPU added by the policies, saturation, instant', '≤ 50', on !== undefined && off !== undefined ? on - off : undefined, 'µs/req', (v) => v <= 50);
  }
  if (paths.some((x) => x.kind === 'gateway' && !x.policies)) {
    out.push({ path: 'gateway-openai', what: 'ext_proc peak RSS (whole run)', target: '≤ 120', value: r3(processes['extproc']?.peakRssMB ?? Number.NaN), unit: 'MB', met: (processes['extproc']?.peakRssMB ?? Infinity) <= 120 });
  }
  return out;
}

export function buildResult(
  raw: RawRun,
  meta: { mode: Settings['mode']; startedAt: Date; env: EnvInfo; settings: Settings; processes: BenchResult['processes']; routing?: RoutePlanningResult },
): BenchResult {
  const cells: CellResult[] = [];
  const pairs: PairResult[] = [];
  for (const profile of raw.profiles) {
    for (const p of raw.paths) {
      const c = raw.cells.get(cellKey(p.id, profile.id));
      if (!c) continue;
      cells.push(summarizeCell(c));
      const base = p.baseline ? raw.cells.get(cellKey(p.baseline, profile.id)) : undefined;
      if (base) pairs.push(pairOf(c, base));
    }
  }
  const policyPairs: PairResult[] = [];
  for (const profile of raw.profiles) {
    const off = raw.cells.get(cellKey(POLICIES_OFF_PATH, profile.id));
    if (!off) continue;
    for (const p of raw.paths.filter((x) => x.policies)) {
      const c = raw.cells.get(cellKey(p.id, profile.id));
      if (c) policyPairs.push(pairOf(c, off));
    }
  }
  const problems = [...raw.problems];
  for (const c of cells) {
    const okAny = (c.saturation?.ok ?? 0) + (c.c1?.ok ?? 0) + sum(c.rates.map((r) => r.ok));
    if (okAny === 0) problems.push(`${c.path}/${c.profile}: no successful request at all`);
    const bad = (c.saturation?.non2xx ?? 0) + (c.saturation?.errors ?? 0) + (c.c1?.non2xx ?? 0) + (c.c1?.errors ?? 0) + sum(c.rates.map((r) => r.non2xx + r.errors));
    if (bad > 0) {
      const st = mergeStatuses([c.saturation?.statuses ?? {}, c.c1?.statuses ?? {}, ...c.rates.map((r) => r.statuses)]);
      const codes = Object.entries(st)
        .filter(([k]) => !k.startsWith('2'))
        .map(([k, v]) => `${v}× HTTP ${k === '0' ? 'none' : k}`)
        .join(', ');
      problems.push(`${c.path}/${c.profile}: ${bad} failed requests (${codes || 'connection errors'})`);
    }
    if (c.stream && c.stream.ok < c.stream.n) problems.push(`${c.path}/${c.profile}: ${c.stream.n - c.stream.ok} of ${c.stream.n} probe streams incomplete`);
  }
  const finishedAt = new Date();
  return {
    schema: 1,
    mode: meta.mode,
    startedAt: meta.startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    wallS: Math.round((finishedAt.getTime() - meta.startedAt.getTime()) / 100) / 10,
    env: meta.env,
    settings: meta.settings,
    paths: raw.paths,
    profiles: raw.profiles,
    cells,
    pairs,
    ...(policyPairs.length ? { policyPairs } : {}),
    processes: meta.processes,
    ...(meta.routing ? { routing: meta.routing } : {}),
    targets: targetsOf(cells, pairs, meta.processes, raw.paths, meta.routing),
    problems,
    broken: cells.some((c) => (c.saturation?.ok ?? 0) + (c.c1?.ok ?? 0) + sum(c.rates.map((r) => r.ok)) === 0),
  };
}

