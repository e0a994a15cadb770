import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool } from 'undici';
import { envInfo } from '../env-info.ts';
import { Clients } from '../load.ts';
import { ALL_PATHS, requestFor, type RequestSpec } from '../paths.ts';
import { profilesFor } from '../profiles.ts';
import { startTopology } from '../topology.ts';
import { attributeTail, type GcEvent, type Interval, type TailAttribution, type TimedRequest } from './attribute.ts';

export interface TailOptions {
  runDir: string;
  outDir: string;
  /** Seconds of load per concurrency. */
  seconds: number;
  envoyConcurrency: number;
  extprocUds: boolean;
  stamp: string;
  log: (m: string) => void;
}

const CONCURRENCIES = [1, 10] as const;
const PROBE = path.join(import.meta.dirname, 'gc-probe.mjs');

/** Closed loop with `connections` workers; every 2xx with its wall-clock start. Non-2xx and errors are counted. */
async function closedLoop(pool: Pool, spec: RequestSpec, connections: number, seconds: number): Promise<{ requests: TimedRequest[]; failed: number }> {
  const requests: TimedRequest[] = [];
  let failed = 0;
  const end = performance.now() + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        const res = await pool.request({ path: spec.path, method: spec.method, headers: spec.headers, body: spec.body });
        await res.body.arrayBuffer();
        if (res.statusCode >= 200 && res.statusCode < 300) requests.push({ startMs: performance.timeOrigin + t0, latencyMs: performance.now() - t0 });
        else failed++;
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  return { requests, failed };
}

const f = (x: number | undefined, d = 2): string => (x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(d));

function render(rows: Array<{ c: number; failed: number; a: TailAttribution }>, header: string): string {
  const out = [header, '', '| c | requests | p50 / p90 / p99 / max (ms) | GCs: scavenges / mark-compacts, pause p50 / max (ms) | loop gaps > 3 ms: count, max (ms) | failed |', '| ---: | ---: | --- | --- | --- | ---: |'];
  for (const { c, failed, a } of rows) {
    out.push(`| ${c} | ${a.latency.n} | ${f(a.latency.p50)} / ${f(a.latency.p90)} / ${f(a.latency.p99)} / ${f(a.latency.max)} | ${a.gc.minor} / ${a.gc.major}, ${f(a.gc.pauseMs?.p50)} / ${f(a.gc.pauseMs?.max)} | ${a.gaps.count}, ${f(a.gaps.ms?.max, 1)} | ${failed} |`);
  }
  out.push('', 'Which requests met a GC or an event-loop gap in the ext_proc while they ran (a request meeting both counts in both):', '', '| c | band | requests | met a GC | met a loop gap | met neither |', '| ---: | --- | ---: | ---: | ---: | ---: |');
  for (const { c, a } of rows) for (const b of a.bands) out.push(`| ${c} | ${b.label} | ${b.requests} | ${b.withGc} | ${b.withGap} | ${b.withNeither} |`);
  out.push(
    '',
    'A loop gap is the ext_proc\'s 1 ms ticker running late by over 3 ms: its loop was busy (a long task, a GC) or the process was not scheduled. "Met neither": the time went to Envoy, the transport, the simulator or the client.',
  );
  return out.join('\n');
}

/**
 * `--tail`: where the gateway's slowest requests spend their time. The ext_proc runs with
 * bench/tail/gc-probe.mjs preloaded; c=1 then c=10 closed loops of instant JSON through the
 * gateway (as configured), and each latency band (below p90, p90–p99, ≥ p99) is matched against
 * the GCs and event-loop gaps recorded while it ran. Writes tail-<time>.{md,json} and
 * latest-tail.*; exit code 1 when a concurrency got no 2xx.
 */
export async function runTail(o: TailOptions): Promise<number> {
  const probeOut = path.join(o.runDir, 'tail-probe.json');
  const topo = await startTopology({ runDir: o.runDir, envoyConcurrency: o.envoyConcurrency, extprocUds: o.extprocUds, extprocNodeArgs: ['--import', PROBE], extprocEnv: { TAIL_PROBE_OUT: probeOut }, log: o.log });
  const clients = new Clients();
  const runs: Array<{ c: number; failed: number; requests: TimedRequest[] }> = [];
  let probe: { gcs: Array<[number, number, number]>; gaps: Array<[number, number]> };
  try {
    const spec = requestFor(ALL_PATHS.find((p) => p.id === 'gateway-openai')!, profilesFor(false)[0]!, topo);
    const pool = clients.pool(spec.origin);
    await closedLoop(pool, spec, 10, 3); // warm-up: JIT, pools, heap growth
    for (const c of CONCURRENCIES) {
      o.log(`bench: tail, c=${c} for ${o.seconds} s`);
      runs.push({ c, ...(await closedLoop(pool, spec, c, o.seconds)) });
      await sleep(500);
    }
    process.kill(topo.gateway.extproc.pid, 'SIGUSR2');
    await sleep(500);
    probe = JSON.parse(readFileSync(probeOut, 'utf8')) as typeof probe;
  } finally {
    await clients.close();
    await topo.stop();
  }
  const gcs: GcEvent[] = probe.gcs.map(([startMs, durationMs, kind]) => ({ startMs, durationMs, kind }));
  const gaps: Interval[] = probe.gaps.map(([startMs, durationMs]) => ({ startMs, durationMs }));
  const rows = runs.map((r) => ({ c: r.c, failed: r.failed, a: attributeTail(r.requests, gcs, gaps) }));
  const env = envInfo(topo.envoyBin);
  const header = [
    `# llm-extproc tail: ${new Date().toISOString()}`,
    '',
    `Commit ${env.commit.slice(0, 12)}, ${env.cpuModel} × ${env.cores}, Node ${env.node}, Envoy ${env.envoy}; instant JSON through the gateway (gpt-4o-mini → OpenAI sim), ${o.seconds} s per concurrency, Envoy → ext_proc over ${o.extprocUds ? 'a Unix socket' : 'loopback TCP'}.`,
  ].join('\n');
  const md = render(rows, header);
  writeFileSync(path.join(o.outDir, `tail-${o.stamp}.md`), `${md}\n`);
  writeFileSync(path.join(o.outDir, `tail-${o.stamp}.json`), `${JSON.stringify({ schema: 1, mode: 'tail', env, seconds: o.seconds, rows }, null, 2)}\n`);
  copyFileSync(path.join(o.outDir, `tail-${o.stamp}.md`), path.join(o.outDir, 'latest-tail.md'));
  copyFileSync(path.join(o.outDir, `tail-${o.stamp}.json`), path.join(o.outDir, 'latest-tail.json'));
  process.stdout.write(`${md}\n`);
  const ok = rows.every((r) => r.a.latency.n > 0);
  if (ok) rmSync(o.runDir, { recursive: true, force: true });
  return ok ? 0 : 1;
}
