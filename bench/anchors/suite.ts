import { setTimeout as sleep } from 'node:timers/promises';
import { closedLoop1, saturate, type Clients } from '../load.ts';
import { ALL_PATHS, requestFor, type PathId, type RequestSpec } from '../paths.ts';
import { profilesFor, type Profile } from '../profiles.ts';
import { ProcessSampler } from '../sampler.ts';
import { probeStream } from '../stream-probe.ts';
import type { Topology } from '../topology.ts';
import type { AigwAnchor } from './aigw.ts';

/** The paths of the anchor comparison: ours as in bench/paths.ts, plus Envoy AI Gateway's. */
export type AnchorPathId = 'bare-openai' | 'gateway-openai' | 'gateway-policies-embedded' | 'gateway-policies-redis' | 'aigw-openai';

export interface AnchorPath {
  readonly id: AnchorPathId;
  readonly label: string;
  /** bench/topology.ts `pids()` names (plus `envoy-aigw`, `extproc-aigw`) of the path's Envoy and ext_proc. */
  readonly envoy: string;
  readonly extproc: string | undefined;
  /** The JSON request (instant answer) and the streamed one this path is measured with. */
  readonly json: RequestSpec;
  readonly stream: RequestSpec;
}

export interface AnchorSettings {
  /** Rounds; each visits every path for every measurement, in an order that rotates and reverses round by round. */
  rounds: number;
  /** Seconds per slice (one path × one measurement × one round). */
  sliceS: number;
  warmupS: number;
  /** Idle ms between two slices. */
  pauseMs: number;
  /** Connections of the c=10 and the saturation slices. */
  c10: number;
  satConnections: number;
  /** The simulator's stream for the TTFB slices (x-sim-fault): content chunks, ms between them. */
  stream: { chunks: number; chunkDelayMs: number };
}

/** Default: 4 rounds × 5 paths × 4 slices × 5 s ≈ 7 min of load (~9 min with start-up); --quick: 2 × 1 s (~1 min). */
export function anchorSettings(quick: boolean, over: { rounds?: number; sliceS?: number } = {}): AnchorSettings {
  const base: AnchorSettings = quick
    ? { rounds: 2, sliceS: 1, warmupS: 0.3, pauseMs: 50, c10: 10, satConnections: 64, stream: { chunks: 8, chunkDelayMs: 2 } }
    : { rounds: 4, sliceS: 5, warmupS: 2, pauseMs: 300, c10: 10, satConnections: 64, stream: { chunks: 8, chunkDelayMs: 2 } };
  if (over.rounds !== undefined) base.rounds = over.rounds;
  if (over.sliceS !== undefined) base.sliceS = over.sliceS;
  return base;
}

/** One slice's counts: 2xx, other statuses, transport errors and timeouts. */
export interface SliceCounts {
  ok: number;
  non2xx: number;
  errors: number;
}

/** Everything measured on one path, round by round (index = round). */
export interface AnchorRawPath {
  id: AnchorPathId;
  label: string;
  /** Latencies in ms of the 2xx answers, per round. */
  c1: number[][];
  c10: number[][];
  /** 2xx per second of the c=10 and saturation slices, per round. */
  c10Rps: number[];
  satRps: number[];
  /** Time to the first body byte of complete 2xx streams, ms, per round. */
  ttfb: number[][];
  /** Envoy's and the ext_proc's CPU µs per 2xx request in each saturation slice. */
  envoyCpuUs: number[];
  extprocCpuUs: number[];
  /** Peak RSS (VmHWM) over the whole run, MB. */
  envoyPeakMB: number;
  extprocPeakMB: number;
  counts: SliceCounts;
}

/** Round r's order: rotated by r, and reversed on odd rounds, so no path is always first or always after the same one. */
export function roundOrder<T>(xs: readonly T[], r: number): T[] {
  const k = r % xs.length;
  const rotated = [...xs.slice(k), ...xs.slice(0, k)];
  return r % 2 === 1 ? rotated.reverse() : rotated;
}

const PATH_DEFS = new Map(ALL_PATHS.map((p) => [p.id, p]));

/**
 * The anchor comparison's paths: bare Envoy, the gateway as configured, with policies on (embedded state; Redis when
 * the topology has it) and Envoy AI Gateway when started. Same request on every path (bench/paths.ts requestFor); to
 * AIGW without the Authorization header (it has no client auth; its ext_proc sends the simulator's key).
 */
export function anchorPaths(topo: Topology, aigw: AigwAnchor | undefined, settings: AnchorSettings): AnchorPath[] {
  const [instant] = profilesFor(false);
  const stream: Profile = { id: 'stream64', label: 'stream (anchors)', stream: true, fault: { ...settings.stream }, chunks: settings.stream.chunks, rates: [], satConnections: settings.satConnections };
  const ours = (id: PathId, envoy: string, extproc: string | undefined): AnchorPath => {
    const def = PATH_DEFS.get(id)!;
    return { id: id as AnchorPathId, label: def.label, envoy, extproc, json: requestFor(def, instant!, topo), stream: requestFor(def, stream, topo) };
  };
  const out: AnchorPath[] = [ours('bare-openai', 'envoy-bare', undefined), ours('gateway-openai', 'envoy-gateway', 'extproc')];
  if (topo.policies.embedded) out.push(ours('gateway-policies-embedded', 'envoy-policies-embedded', 'extproc-policies-embedded'));
  if (topo.policies.redis) out.push(ours('gateway-policies-redis', 'envoy-policies-redis', 'extproc-policies-redis'));
  if (aigw) {
    const asAigw = (s: RequestSpec): RequestSpec => {
      const { authorization: _auth, ...headers } = s.headers;
      return { ...s, origin: aigw.url, headers };
    };
    const gw = out[1]!;
    out.push({ id: 'aigw-openai', label: `Envoy AI Gateway ${aigw.version} → OpenAI sim`, envoy: 'envoy-aigw', extproc: 'extproc-aigw', json: asAigw(gw.json), stream: asAigw(gw.stream) });
  }
  return out;
}

/** One JSON answer with text and one complete stream with every chunk, per path, before anything is timed. */
async function preflight(clients: Clients, p: AnchorPath): Promise<void> {
  const res = await clients.pool(p.json.origin).request({ path: p.json.path, method: 'POST', headers: p.json.headers, body: p.json.body });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`preflight ${p.id}: HTTP ${res.statusCode}: ${text.slice(0, 300)}`);
  const content = (JSON.parse(text) as { choices?: Array<{ message?: { content?: unknown } }> }).choices?.[0]?.message?.content;
  if (typeof content !== 'string' || content.length === 0) throw new Error(`preflight ${p.id}: the answer has no text: ${text.slice(0, 300)}`);
  const t = await probeStream(clients.pool(p.stream.origin), p.stream);
  if (!t.ok || t.contentAt.length === 0) throw new Error(`preflight ${p.id}: stream failed (status ${t.status}, complete=${t.complete}, content events ${t.contentAt.length}${t.error ? `, ${t.error}` : ''})`);
}

/** Closed loop of streams on one connection for `seconds`: TTFB of each complete 2xx stream. */
async function streamLoop(clients: Clients, spec: RequestSpec, seconds: number, counts: SliceCounts): Promise<number[]> {
  const out: number[] = [];
  const end = Date.now() + seconds * 1000;
  const pool = clients.pool(spec.origin);
  while (Date.now() < end) {
    const t = await probeStream(pool, spec);
    if (t.ok) {
      counts.ok++;
      out.push(t.ttfbMs);
    } else if (t.status !== 0) counts.non2xx++;
    else {
      counts.errors++;
      await sleep(5);
    }
  }
  return out;
}

/**
 * Runs the comparison: preflight and warm-up of every path, then `rounds` rounds; in each, for each measurement
 * (c=1, c=10, saturation, stream TTFB at c=1) every path in the round's order (roundOrder). CPU per request comes
 * from the saturation slices; peak RSS from `sampler` at the end.
 */
export async function runAnchorSuite(paths: AnchorPath[], clients: Clients, sampler: ProcessSampler, settings: AnchorSettings, log: (m: string) => void): Promise<AnchorRawPath[]> {
  const raw = new Map<AnchorPathId, AnchorRawPath>();
  for (const p of paths) {
    raw.set(p.id, { id: p.id, label: p.label, c1: [], c10: [], c10Rps: [], satRps: [], ttfb: [], envoyCpuUs: [], extprocCpuUs: [], envoyPeakMB: Number.NaN, extprocPeakMB: Number.NaN, counts: { ok: 0, non2xx: 0, errors: 0 } });
  }
  for (const p of paths) await preflight(clients, p);
  log(`anchors: preflight ok on ${paths.map((p) => p.id).join(', ')}; warming up`);
  for (const p of paths) {
    await saturate(p.json, settings.c10, settings.warmupS);
    await closedLoop1(clients.pool(p.json.origin), p.json, Math.min(1, settings.warmupS));
    await streamLoop(clients, p.stream, Math.min(1, settings.warmupS), { ok: 0, non2xx: 0, errors: 0 });
  }
  const pause = (): Promise<unknown> => sleep(settings.pauseMs);
  const add = (c: SliceCounts, r: { ok: number; non2xx: number; errors: number; timeouts?: number }): void => {
    c.ok += r.ok;
    c.non2xx += r.non2xx;
    c.errors += r.errors + (r.timeouts ?? 0);
  };

  for (let r = 0; r < settings.rounds; r++) {
    const order = roundOrder(paths, r);
    log(`anchors: round ${r + 1}/${settings.rounds} (${order.map((p) => p.id).join(' → ')})`);
    for (const p of order) {
      const run = await closedLoop1(clients.pool(p.json.origin), p.json, settings.sliceS);
      const cell = raw.get(p.id)!;
      cell.c1.push(run.latencies);
      add(cell.counts, run);
      await pause();
    }
    for (const p of order) {
      const run = await saturate(p.json, settings.c10, settings.sliceS);
      const cell = raw.get(p.id)!;
      cell.c10.push(run.latencies);
      cell.c10Rps.push(run.rps);
      add(cell.counts, run);
      await pause();
    }
    for (const p of order) {
      const c0 = sampler.cpu();
      const run = await saturate(p.json, settings.satConnections, settings.sliceS);
      const cpu = ProcessSampler.delta(c0, sampler.cpu());
      const cell = raw.get(p.id)!;
      cell.satRps.push(run.rps);
      cell.envoyCpuUs.push(((cpu[p.envoy] ?? Number.NaN) / Math.max(1, run.ok)) * 1e6);
      cell.extprocCpuUs.push(p.extproc ? ((cpu[p.extproc] ?? Number.NaN) / Math.max(1, run.ok)) * 1e6 : Number.NaN);
      add(cell.counts, run);
      sampler.sampleRss();
      log(`  saturation ${p.id.padEnd(26)} ${Math.round(run.rps).toLocaleString('en-US').padStart(7)} req/s`);
      await pause();
    }
    for (const p of order) {
      const cell = raw.get(p.id)!;
      cell.ttfb.push(await streamLoop(clients, p.stream, settings.sliceS, cell.counts));
      await pause();
    }
  }
  sampler.sampleRss();
  for (const p of paths) {
    const cell = raw.get(p.id)!;
    cell.envoyPeakMB = sampler.peakRssMB[p.envoy] ?? Number.NaN;
    cell.extprocPeakMB = p.extproc ? (sampler.peakRssMB[p.extproc] ?? Number.NaN) : Number.NaN;
  }
  return paths.map((p) => raw.get(p.id)!);
}
