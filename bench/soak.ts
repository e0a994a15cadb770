import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Pool } from 'undici';
import { envInfo } from './env-info.ts';
import { Clients, openLoop, type RateRun } from './load.ts';
import { requestFor, type PathDef, type PolicyStore, type RequestSpec } from './paths.ts';
import { BENCH_POLICIES } from './policy-config.ts';
import { profilesFor, type Profile } from './profiles.ts';
import { ProcessSampler, type CpuSnapshot } from './sampler.ts';
import { renderSoak } from './soak-report.ts';
import { percentileOfSent, soakVerdicts, type P99Series, type SoakVerdicts } from './soak-verdict.ts';
import { pct, sorted } from './stats.ts';
import { startTopology, type Topology } from './topology.ts';

export interface SoakOptions {
  runDir: string;
  outDir: string;
  minutes: number;
  envoyConcurrency: number;
  stamp: string;
  /** Where the policy gateway keeps its state: embedded (SQLite) or Redis (`--soak-redis`). */
  store: PolicyStore;
  /** Envoy calls the ext_proc on a Unix domain socket (`--extproc-uds`). */
  extprocUds?: boolean;
  log: (m: string) => void;
}

export type SoakClassId = 'json' | 'translated' | 'stream';

/** One kind of request in the mix, sent open loop at `rate` req/s through the policy gateway. */
export interface SoakClass {
  readonly id: SoakClassId;
  readonly label: string;
  readonly provider: 'openai' | 'anthropic';
  readonly rate: number;
  readonly stream: boolean;
  /** The simulator's behaviour (`x-sim-fault`). */
  readonly fault: Profile['fault'];
}

const STREAM_CHUNKS = 16;

/**
 * 1,000 req/s in all. The stream is shorter than the benchmark's 64 × 20 ms so that the box
 * does more than hold streams open: 100/s of 16 × 10 ms keep ~20 streams in flight.
 */
export const SOAK_CLASSES: readonly SoakClass[] = [
  { id: 'json', label: 'JSON, gpt-4o-mini → OpenAI sim (instant)', provider: 'openai', rate: 600, stream: false, fault: { latencyMs: 0 } },
  { id: 'translated', label: 'JSON translated, claude-sonnet-4-5 → Anthropic sim (instant)', provider: 'anthropic', rate: 300, stream: false, fault: { latencyMs: 0 } },
  { id: 'stream', label: `stream, gpt-4o-mini → OpenAI sim (${STREAM_CHUNKS} chunks × 10 ms)`, provider: 'openai', rate: 100, stream: true, fault: { chunks: STREAM_CHUNKS, chunkDelayMs: 10 } },
];
export const WINDOW_S = 10;
/** --soak-minutes' default; only a run this long replaces latest-soak*.*. */
export const SOAK_DEFAULT_MINUTES = 10;

/** One class in one window: counts, and ms from each request's due time (open loop). */
export interface SoakClassWindow {
  sent: number;
  ok: number;
  /** sent − ok: non-2xx, a 2xx with a bad body, a connection error or a timeout. */
  failed: number;
  statuses: Record<string, number>;
  invalid: number;
  errors: number;
  timeouts: number;
  p50Ms: number;
  p99Ms: number;
  /** Streams only: to the first body byte. */
  ttfbP50Ms?: number;
  ttfbP99Ms?: number;
}

export interface SoakWindow {
  /** Start, s since the load started. */
  tS: number;
  sent: number;
  ok: number;
  failed: number;
  classes: Record<SoakClassId, SoakClassWindow>;
  /** At the window's end, MB. */
  extprocRssMB: number;
  envoyRssMB: number;
  /** CPU used during the window, % of one core. */
  extprocCpuPct: number;
  envoyCpuPct: number;
  /** The load generator (this process) and the two simulators together, % of one core: the rest of the box's work. */
  loadgenCpuPct: number;
  simsCpuPct: number;
  /** How late the load generator sent its requests (its own health), p99 ms over all classes. */
  lagP99Ms: number;
}

export interface SoakResult {
  schema: 2;
  mode: 'soak';
  startedAt: string;
  minutes: number;
  windowS: number;
  store: PolicyStore;
  transport: 'tcp' | 'uds';
  env: ReturnType<typeof envInfo>;
  classes: readonly SoakClass[];
  /** USD per request of each class, as the gateway charged the preflight's (`x-gateway-cost-usd`). */
  costUsd: Record<SoakClassId, number>;
  verdicts: SoakVerdicts;
  windows: SoakWindow[];
  rssTimeline: Array<{ t: number; rssMB: Record<string, number> }>;
}

/** The policy gateway's path for a provider (bench/paths.ts has it only for OpenAI). */
function policyPath(store: PolicyStore, provider: 'openai' | 'anthropic'): PathDef {
  return { id: `gateway-policies-${store}`, kind: 'gateway', provider, baseline: undefined, label: `gateway, policies on (${store}) → ${provider} sim`, policies: store };
}

function specFor(c: SoakClass, store: PolicyStore, topo: Topology): RequestSpec {
  const base = profilesFor(false).find((p) => p.stream === c.stream)!;
  return requestFor(policyPath(store, c.provider), { ...base, fault: c.fault, chunks: c.stream ? STREAM_CHUNKS : 0 }, topo);
}

/** Content chunks in an OpenAI-format SSE body, or -1 when it is not a complete, error-free stream. */
export function streamChunks(body: string): number {
  if (!body.trimEnd().endsWith('data: [DONE]') || body.includes('data: {"error"')) return -1;
  let n = 0;
  for (const line of body.split('\n')) {
    if (!line.startsWith('data: {')) continue;
    try {
      const content = (JSON.parse(line.slice(6)) as { choices?: Array<{ delta?: { content?: string } }> }).choices?.[0]?.delta?.content;
      if (typeof content === 'string' && content.length > 0) n++;
    } catch {
      return -1;
    }
  }
  return n;
}

/** A whole OpenAI chat completion with an answer. */
export function isCompletion(body: string): boolean {
  try {
    const j = JSON.parse(body) as { object?: string; choices?: Array<{ message?: { content?: unknown } }> };
    return j.object === 'chat.completion' && typeof j.choices?.[0]?.message?.content === 'string';
  } catch {
    return false;
  }
}

/** What every response of the class must be; a stream must also end in [DONE] without an error event. */
const checkFor = (c: SoakClass): ((body: string) => boolean) => (c.stream ? (b) => b.trimEnd().endsWith('data: [DONE]') && !b.includes('data: {"error"') : isCompletion);

/**
 * One request of each class before the load, checked in full: a completion for JSON (translated
 * from Anthropic's format for Claude), exactly STREAM_CHUNKS content chunks for the stream (the
 * simulator got `x-sim-fault` through the gateway), and the demo key's rate-limit headers (the
 * policies are on). Throws what is wrong. Returns each class's `x-gateway-cost-usd` (what the budget is charged per request).
 */
async function preflight(pool: Pool, specs: Record<SoakClassId, RequestSpec>, expectedRpm: number): Promise<Record<SoakClassId, number>> {
  const cost = {} as Record<SoakClassId, number>;
  for (const c of SOAK_CLASSES) {
    const s = specs[c.id];
    const res = await pool.request({ path: s.path, method: s.method, headers: s.headers, body: s.body });
    const body = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`soak preflight (${c.id}): HTTP ${res.statusCode}: ${body.slice(0, 300)}`);
    if (c.stream) {
      const n = streamChunks(body);
      if (n !== STREAM_CHUNKS) throw new Error(`soak preflight (${c.id}): ${n < 0 ? 'an incomplete or failed stream' : `${n} content chunks`}, expected ${STREAM_CHUNKS} (x-sim-fault not applied?)`);
    } else if (!isCompletion(body)) throw new Error(`soak preflight (${c.id}): not a chat.completion: ${body.slice(0, 300)}`);
    const limit = res.headers['x-ratelimit-limit-requests'];
    if (String(limit) !== String(expectedRpm)) throw new Error(`soak preflight (${c.id}): x-ratelimit-limit-requests is ${String(limit)}, expected ${expectedRpm}: are the policies on?`);
    const usd = res.headers['x-gateway-cost-usd'];
    cost[c.id] = usd === undefined ? Number.NaN : Number(usd);
  }
  return cost;
}

const r3 = (x: number): number => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : x);
const r1 = (x: number): number => (Number.isFinite(x) ? Math.round(x * 10) / 10 : Number.NaN);

/** Percentiles over every request sent: a failed one counts as slower than any answer (`percentileOfSent`). */
function classWindow(run: RateRun, stream: boolean): SoakClassWindow {
  const failed = run.sent - run.ok;
  const at = (xs: number[], missing: number, p: number): number => r3(percentileOfSent(xs, missing, p));
  // A stream's first byte: every request that never got one counts as slower.
  const noFirstByte = Math.max(0, run.sent - run.ttfb.length);
  return {
    sent: run.sent,
    ok: run.ok,
    failed,
    statuses: run.statuses,
    invalid: run.invalid,
    errors: run.errors,
    timeouts: run.timeouts,
    p50Ms: at(run.latencies, failed, 50),
    p99Ms: at(run.latencies, failed, 99),
    ...(stream ? { ttfbP50Ms: at(run.ttfb, noFirstByte, 50), ttfbP99Ms: at(run.ttfb, noFirstByte, 99) } : {}),
  };
}

const sleepUntil = (at: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, at - performance.now())));

/**
 * `--soak` (`--soak-redis`): `minutes` of steady open-loop load at 1,000 req/s (SOAK_CLASSES, all
 * at once) through the gateway with the benchmark's policies on (bench/policy-config.ts), in
 * back-to-back 10-s windows: a window's requests are due from its start, the next window starts
 * on time while the last one's stragglers finish. Per window: counts, p50/p99 per class, ext_proc
 * and Envoy RSS and CPU. Writes soak[-redis]-<stamp>.{json,md} and latest-soak[-redis].*
 * (shorter than SOAK_DEFAULT_MINUTES: soak[-redis]-<stamp>-<N>min.{json,md} only);
 * returns 1 when a rule of the run fails (bench/soak-verdict.ts).
 */
export async function runSoak(o: SoakOptions): Promise<number> {
  const startedAt = new Date();
  o.log(`bench: soak for ${o.minutes} min at ${SOAK_CLASSES.reduce((s, c) => s + c.rate, 0)} req/s through the gateway with policies on (${o.store} state; logs in ${o.runDir})`);
  const topo = await startTopology({ runDir: o.runDir, envoyConcurrency: o.envoyConcurrency, log: o.log, policyGateways: [o.store], extprocUds: o.extprocUds === true });
  const gw = topo.policies[o.store]!;
  const clients = new Clients();
  const windows: SoakWindow[] = [];
  let sampler: ProcessSampler | undefined;
  let costUsd = {} as Record<SoakClassId, number>;
  try {
    const pool = clients.pool(gw.url);
    const specs = Object.fromEntries(SOAK_CLASSES.map((c) => [c.id, specFor(c, o.store, topo)])) as Record<SoakClassId, RequestSpec>;
    costUsd = await preflight(pool, specs, BENCH_POLICIES.rateLimits.keys.demo.requestsPerMinute);
    o.log(`bench: preflight ok (completions, ${STREAM_CHUNKS}-chunk stream, rate-limit headers; USD per request ${JSON.stringify(costUsd)}); load starts`);

    const nWindows = Math.max(1, Math.round((o.minutes * 60) / WINDOW_S));
    const s = new ProcessSampler({ extproc: gw.extproc.pid, envoy: gw.envoy.pid, loadgen: process.pid, 'sim-openai': topo.sims.openai.child.pid, 'sim-anthropic': topo.sims.anthropic.child.pid });
    sampler = s;
    s.start(5000, true);
    const t0 = performance.now();
    // CPU and RSS at each window boundary; a window's end is sampled on time, before its stragglers finish.
    type Boundary = { cpu: CpuSnapshot; rss: Record<string, number> };
    const reached: Array<(b: Boundary) => void> = [];
    const boundary = Array.from({ length: nWindows + 1 }, (_, k) => new Promise<Boundary>((r) => (reached[k] = r)));
    const pending: Array<Promise<void>> = [];
    for (let k = 0; k <= nWindows; k++) {
      await sleepUntil(t0 + k * WINDOW_S * 1000);
      reached[k]!({ cpu: s.cpu(), rss: s.sampleRss() });
      if (k === nWindows) break;
      const tS = k * WINDOW_S;
      const runs = Promise.all(SOAK_CLASSES.map((c) => openLoop(pool, specs[c.id], c.rate, WINDOW_S, 30_000, checkFor(c))));
      pending.push(
        Promise.all([runs, boundary[k]!, boundary[k + 1]!]).then(([rs, start, end]) => {
          const cpu = ProcessSampler.delta(start.cpu, end.cpu);
          const classes = Object.fromEntries(SOAK_CLASSES.map((c, i) => [c.id, classWindow(rs[i]!, c.stream)])) as Record<SoakClassId, SoakClassWindow>;
          const sent = rs.reduce((a, r) => a + r.sent, 0);
          const ok = rs.reduce((a, r) => a + r.ok, 0);
          const w: SoakWindow = {
            tS,
            sent,
            ok,
            failed: sent - ok,
            classes,
            extprocRssMB: end.rss['extproc'] ?? Number.NaN,
            envoyRssMB: end.rss['envoy'] ?? Number.NaN,
            extprocCpuPct: r1(((cpu['extproc'] ?? Number.NaN) / WINDOW_S) * 100),
            envoyCpuPct: r1(((cpu['envoy'] ?? Number.NaN) / WINDOW_S) * 100),
            loadgenCpuPct: r1(((cpu['loadgen'] ?? Number.NaN) / WINDOW_S) * 100),
            simsCpuPct: r1((((cpu['sim-openai'] ?? Number.NaN) + (cpu['sim-anthropic'] ?? Number.NaN)) / WINDOW_S) * 100),
            lagP99Ms: r3(pct(sorted(rs.flatMap((r) => r.lag)), 99)),
          };
          windows[k] = w;
          const c = w.classes;
          o.log(
            `  t=${String(tS).padStart(4)}s ok ${ok}/${sent}` +
              `  p99 json ${c.json.p99Ms.toFixed(2)} translated ${c.translated.p99Ms.toFixed(2)} stream ttfb ${c.stream.ttfbP99Ms!.toFixed(2)} total ${c.stream.p99Ms.toFixed(1)} ms` +
              `  RSS ext_proc ${w.extprocRssMB.toFixed(1)} envoy ${w.envoyRssMB.toFixed(1)} MB  CPU ext_proc ${w.extprocCpuPct.toFixed(0)} envoy ${w.envoyCpuPct.toFixed(0)} loadgen ${w.loadgenCpuPct.toFixed(0)} sims ${w.simsCpuPct.toFixed(0)} %  lag p99 ${w.lagP99Ms.toFixed(1)} ms`,
          );
        }),
      );
    }
    await Promise.all(pending);
  } finally {
    sampler?.stop();
    await clients.close();
    await topo.stop();
  }

  const s = sampler!;
  const seriesOf = (name: string) => s.timeline.filter((p) => p.rssMB[name] !== undefined).map((p) => ({ t: p.t, v: p.rssMB[name]! }));
  const p99Of = (w: SoakWindow): Record<P99Series, number> => ({
    json: w.classes.json.p99Ms,
    translated: w.classes.translated.p99Ms,
    streamTtfb: w.classes.stream.ttfbP99Ms ?? Number.NaN,
    streamTotal: w.classes.stream.p99Ms,
  });
  const verdicts = soakVerdicts({
    minutes: o.minutes,
    windows: windows.map((w) => ({ tS: w.tS, sent: w.sent, failed: w.failed, p99: p99Of(w) })),
    rss: { extproc: seriesOf('extproc'), envoy: seriesOf('envoy') },
    peakExtprocRssMB: s.peakRssMB['extproc'] ?? Number.NaN,
  });
  const result: SoakResult = {
    schema: 2,
    mode: 'soak',
    startedAt: startedAt.toISOString(),
    minutes: o.minutes,
    windowS: WINDOW_S,
    store: o.store,
    transport: o.extprocUds ? 'uds' : 'tcp',
    env: envInfo(topo.envoyBin),
    classes: SOAK_CLASSES,
    costUsd,
    verdicts,
    windows,
    rssTimeline: s.timeline,
  };
  const md = renderSoak(result);
  const name = o.store === 'redis' ? 'soak-redis' : 'soak';
  // A soak shorter than the default gets its length in the name and never replaces latest-soak*.* (what the docs quote).
  const short = o.minutes < SOAK_DEFAULT_MINUTES;
  const base = `${name}-${o.stamp}${short ? `-${o.minutes}min` : ''}`;
  writeFileSync(path.join(o.outDir, `${base}.json`), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(path.join(o.outDir, `${base}.md`), `${md}\n`);
  if (!short) {
    copyFileSync(path.join(o.outDir, `${base}.json`), path.join(o.outDir, `latest-${name}.json`));
    copyFileSync(path.join(o.outDir, `${base}.md`), path.join(o.outDir, `latest-${name}.md`));
  }
  process.stdout.write(`${md}\n`);
  o.log(`bench: wrote ${path.join(o.outDir, `${base}.{json,md}`)}${short ? ` (${o.minutes} min, shorter than the default ${SOAK_DEFAULT_MINUTES}: latest-${name}.* left as it was)` : ` and latest-${name}.{json,md}`}`);
  if (verdicts.pass) rmSync(o.runDir, { recursive: true, force: true });
  else o.log(`bench: the soak failed a rule of the run; process logs kept in ${o.runDir}`);
  return verdicts.pass ? 0 : 1;
}
