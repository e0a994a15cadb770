import { setTimeout as sleep } from 'node:timers/promises';
import { closedLoop1, openLoop, saturate, type Clients, type LatencyRun, type RateRun, type SaturationRun } from './load.ts';
import { ALL_PATHS, gatewayOf, requestFor, type PathDef, type PathId, type RequestSpec } from './paths.ts';
import { profilesFor, type Profile } from './profiles.ts';
import { histAdd, histDelta, scrape, type HistSnap } from './prom.ts';
import { ProcessSampler, type CpuSnapshot } from './sampler.ts';
import type { Settings } from './settings.ts';
import { probeStream, type StreamTiming } from './stream-probe.ts';
import type { Topology } from './topology.ts';

export interface Slice<T> {
  run: T;
  /** CPU seconds of each watched process during the slice. */
  cpu: CpuSnapshot;
}

/** Everything measured for one path × profile, round by round (kept in memory, summarized later). */
export interface RawCell {
  path: PathDef;
  profile: Profile;
  sat: Array<Slice<SaturationRun>>;
  c1: Array<Slice<LatencyRun>>;
  rates: Map<number, Array<Slice<RateRun>>>;
  streams: StreamTiming[];
  /** Delta of gateway_extproc_overhead_seconds over this cell's slices (gateway paths). */
  overhead: HistSnap | undefined;
  /**
   * Policy path on Redis: Redis commands (INFO commandstats, by command, counting those run
   * inside scripts too) over this cell's slices, and the requests the gateway finished in them.
   */
  redisCalls: { calls: Record<string, number>; requests: number } | undefined;
}

export interface RawRun {
  cells: Map<string, RawCell>;
  paths: PathDef[];
  profiles: Profile[];
  problems: string[];
}

export const cellKey = (path: PathId, profile: Profile['id']): string => `${path}|${profile}`;

/** Responses a slice got: 2xx and not (a load run's counts; one for a probe stream that got a status). */
function responsesOf(run: unknown): number {
  const r = run as { ok?: unknown; non2xx?: unknown; status?: unknown };
  if (typeof r.ok === 'number' && typeof r.non2xx === 'number') return r.ok + r.non2xx;
  return typeof r.status === 'number' && r.status !== 0 ? 1 : 0;
}

/** Round r visits the paths starting at a different one, so no path always runs first. */
function rotate<T>(xs: readonly T[], r: number): T[] {
  const k = r % xs.length;
  return [...xs.slice(k), ...xs.slice(0, k)];
}

const fmt = (x: number, d = 0): string => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '—');

/** Checks one request per path answers the way that path should, before anything is timed. */
async function preflight(clients: Clients, p: PathDef, profile: Profile, spec: RequestSpec): Promise<string | undefined> {
  const pool = clients.pool(spec.origin);
  if (profile.stream) {
    const t = await probeStream(pool, spec);
    if (!t.ok) return `${p.id}/${profile.id}: stream preflight failed (status ${t.status}, complete=${t.complete}, content events ${t.contentAt.length}${t.error ? `, ${t.error}` : ''})`;
    if (t.contentAt.length !== profile.chunks) return `${p.id}/${profile.id}: expected ${profile.chunks} content events, got ${t.contentAt.length}`;
    return undefined;
  }
  try {
    const res = await pool.request({ path: spec.path, method: spec.method, headers: spec.headers, body: spec.body });
    const text = await res.body.text();
    if (res.statusCode !== 200) return `${p.id}/${profile.id}: preflight got HTTP ${res.statusCode}: ${text.slice(0, 300)}`;
    // A policy path whose limits did not apply would measure nothing: the rate-limit step's headers prove they did.
    if (p.policies && res.headers['x-ratelimit-limit-requests'] === undefined) return `${p.id}/${profile.id}: no x-ratelimit-* headers: the policies are not on`;
    const body = JSON.parse(text) as { choices?: Array<{ message?: { content?: unknown } }>; content?: Array<{ text?: unknown }> };
    const content = spec.wire === 'openai' ? body.choices?.[0]?.message?.content : body.content?.[0]?.text;
    if (typeof content !== 'string' || content.length === 0) return `${p.id}/${profile.id}: preflight answer has no text: ${text.slice(0, 300)}`;
    return undefined;
  } catch (err) {
    return `${p.id}/${profile.id}: preflight failed: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/**
 * Runs every measurement. Per profile: preflight and warm-up of every path, then saturation
 * rounds, concurrency-1 rounds (the stream probe for streams), then each open-loop rate, each
 * round visiting every path in turn, so drift and noise hit all paths alike.
 */
export async function runSuite(topo: Topology, clients: Clients, sampler: ProcessSampler, settings: Settings, log: (m: string) => void): Promise<RawRun> {
  const paths = ALL_PATHS.filter((p) => settings.paths.includes(p.id));
  const profiles = profilesFor(settings.mode === 'quick').filter((p) => settings.profiles.includes(p.id));
  const cells = new Map<string, RawCell>();
  const problems: string[] = [];

  const slice = async <T>(cell: RawCell, fn: () => Promise<T>): Promise<Slice<T>> => {
    const gw = cell.path.kind === 'gateway' ? gatewayOf(topo, cell.path) : undefined;
    const redis = cell.path.policies === 'redis' ? topo.redis : undefined;
    const h0 = gw ? await scrape(gw.metricsUrl) : undefined;
    const r0 = redis ? await redis.commandCalls() : undefined;
    const c0 = sampler.cpu();
    const run = await fn();
    const c1 = sampler.cpu();
    // Settlements run after the response: let the last ones reach Redis before counting.
    if (redis) await sleep(50);
    const r1 = redis ? await redis.commandCalls() : undefined;
    const h1 = gw ? await scrape(gw.metricsUrl) : undefined;
    if (h0 && h1) cell.overhead = histAdd(cell.overhead, histDelta(h0, h1));
    if (r0 && r1) {
      const acc = (cell.redisCalls ??= { calls: {}, requests: 0 });
      for (const [cmd, n] of Object.entries(r1)) if (cmd !== 'info') acc.calls[cmd] = (acc.calls[cmd] ?? 0) + n - (r0[cmd] ?? 0);
      // The gateway's own count of finished requests (its overhead histogram): autocannon does
      // not count the requests still in flight when a slice ends, though they reached Redis.
      acc.requests += h0 && h1 ? h1.count - h0.count : responsesOf(run);
    }
    sampler.sampleRss();
    await sleep(settings.pauseMs);
    return { run, cpu: ProcessSampler.delta(c0, c1) };
  };

  for (const profile of profiles) {
    log(`\n== profile ${profile.id} (${profile.label})`);
    const specs = new Map<PathId, RequestSpec>();
    for (const p of paths) {
      specs.set(p.id, requestFor(p, profile, topo));
      cells.set(cellKey(p.id, profile.id), { path: p, profile, sat: [], c1: [], rates: new Map(), streams: [], overhead: undefined, redisCalls: undefined });
    }
    const cellOf = (p: PathDef): RawCell => cells.get(cellKey(p.id, profile.id))!;
    const specOf = (p: PathDef): RequestSpec => specs.get(p.id)!;

    for (const p of paths) {
      const problem = await preflight(clients, p, profile, specOf(p));
      if (problem) throw new Error(`preflight: ${problem}`);
    }
    log(`  preflight ok; warming up ${paths.length} paths`);
    for (const p of paths) {
      const spec = specOf(p);
      await saturate(spec, Math.min(32, profile.satConnections), settings.warmupS);
      await openLoop(clients.pool(spec.origin), spec, Math.max(...profile.rates), Math.min(1, settings.warmupS));
    }

    for (let r = 0; r < settings.rounds; r++) {
      for (const p of rotate(paths, r)) {
        const s = await slice(cellOf(p), () => saturate(specOf(p), profile.satConnections, settings.satS));
        cellOf(p).sat.push(s);
        log(`  saturation r${r + 1} ${p.id.padEnd(18)} ${fmt(s.run.rps).padStart(7)} rps  (c=${profile.satConnections}, non2xx ${s.run.non2xx}, errors ${s.run.errors + s.run.timeouts})`);
      }
    }

    if (!profile.stream) {
      const secs = settings.c1S[profile.id as keyof Settings['c1S']];
      for (let r = 0; r < settings.rounds; r++) {
        for (const p of rotate(paths, r)) {
          const s = await slice(cellOf(p), () => closedLoop1(clients.pool(specOf(p).origin), specOf(p), secs));
          cellOf(p).c1.push(s);
          const sortedLat = [...s.run.latencies].sort((a, b) => a - b);
          log(`  c=1        r${r + 1} ${p.id.padEnd(18)} p50 ${fmt(sortedLat[Math.floor(sortedLat.length / 2)] ?? Number.NaN, 3)} ms  (n ${s.run.ok}, non2xx ${s.run.non2xx}, errors ${s.run.errors})`);
        }
      }
    } else {
      for (let r = 0; r < settings.probeRounds; r++) {
        for (const p of rotate(paths, r)) {
          const cell = cellOf(p);
          const s = await slice(cell, () => probeStream(clients.pool(specOf(p).origin), specOf(p)));
          cell.streams.push(s.run);
        }
        if (r === 0 || r === settings.probeRounds - 1) {
          const line = paths.map((p) => `${p.id} ${fmt(cellOf(p).streams.at(-1)?.ttftMs ?? Number.NaN, 2)}`).join(', ');
          log(`  stream probe r${r + 1}: TTFT ms ${line}`);
        }
      }
    }

    for (const rate of profile.rates) {
      for (let r = 0; r < settings.rateRounds; r++) {
        for (const p of rotate(paths, r)) {
          const cell = cellOf(p);
          const s = await slice(cell, () => openLoop(clients.pool(specOf(p).origin), specOf(p), rate, settings.rateS));
          const list = cell.rates.get(rate) ?? [];
          list.push(s);
          cell.rates.set(rate, list);
          const sortedLat = [...s.run.latencies].sort((a, b) => a - b);
          log(
            `  ${String(rate).padStart(4)}/s     r${r + 1} ${p.id.padEnd(18)} p99 ${fmt(sortedLat[Math.ceil(sortedLat.length * 0.99) - 1] ?? Number.NaN, 2)} ms  (ok ${s.run.ok}/${s.run.sent}, non2xx ${s.run.non2xx}, errors ${s.run.errors + s.run.timeouts})`,
          );
        }
      }
    }
  }
  return { cells, paths, profiles, problems };
}
