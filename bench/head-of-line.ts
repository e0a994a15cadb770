import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { envInfo } from './env-info.ts';
import { Clients, openLoop } from './load.ts';
import { ALL_PATHS, requestFor } from './paths.ts';
import { profilesFor } from './profiles.ts';
import { largeBodies } from './large-bodies.ts';
import { dist, type Dist } from './stats.ts';
import { ProcessSampler } from './sampler.ts';
import { ROOT, startTopology, type Topology } from './topology.ts';

export interface HeadOfLineOptions {
  runDir: string;
  outDir: string;
  /** Seconds per phase. */
  seconds: number;
  /** Run with `server.limits` raised out of the way: the gateway as it was before them. */
  limitsOff: boolean;
  envoyConcurrency: number;
  stamp: string;
  log: (m: string) => void;
}

/** Small requests: the benchmark's realistic gpt-4o-mini request, open loop, as in the case. */
const SMALL_RATE = 50;
/** Large requests in flight at once (the case's worst measurement). */
const LARGE_IN_FLIGHT = 16;

interface LargeShape {
  readonly id: string;
  readonly label: string;
  readonly body: string;
}

/** The robustness case's body: 300,000 short messages, 10.7 MB (refused by the default limits). */
function caseBody(): string {
  return JSON.stringify({ model: 'claude-sonnet-4-5', messages: Array.from({ length: 300_000 }, (_, i) => ({ role: 'user', content: `m${i}` })) });
}

interface LargeRun {
  sent: number;
  statuses: Record<string, number>;
  errors: number;
  latency: Dist | null;
}

/** LARGE_IN_FLIGHT closed loops sending `body` until `endAt` (performance.now() ms). */
async function largeLoops(pool: Pool, topo: Topology, body: string, endAt: number): Promise<LargeRun> {
  const run: LargeRun = { sent: 0, statuses: {}, errors: 0, latency: null };
  const latencies: number[] = [];
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${topo.gateway.demoKey}` };
  const loop = async (): Promise<void> => {
    while (performance.now() < endAt) {
      const t0 = performance.now();
      run.sent++;
      try {
        const res = await pool.request({ path: '/v1/chat/completions', method: 'POST', headers, body });
        await res.body.dump();
        run.statuses[res.statusCode] = (run.statuses[res.statusCode] ?? 0) + 1;
        latencies.push(performance.now() - t0);
      } catch {
        run.errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: LARGE_IN_FLIGHT }, loop));
  run.latency = dist(latencies);
  return run;
}

interface Phase {
  id: string;
  label: string;
  small: { sent: number; ok: number; failed: number; statuses: Record<string, number>; errors: number; timeouts: number; latency: Dist | null };
  large: LargeRun | undefined;
  /** p99 of how late the load generator itself sent a small request (its own health, ms). */
  generatorLagP99: number;
  /** CPU seconds per process during the phase. */
  cpuS: Record<string, number>;
  /**
   * The ext_proc's event-loop delay during the phase, ms (p50, p99, max): how late its 10 ms
   * timer fired (perf_hooks.monitorEventLoopDelay via prom-client, reset at each scrape). What a
   * message that arrives while the loop is busy waits before its handler runs.
   */
  loopDelayMs: { p50: number; p99: number; max: number } | undefined;
}

/** prom-client's event-loop delay gauges (prefix gateway_process_), read and reset by one scrape. */
async function scrapeLoopDelay(metricsUrl: string): Promise<Phase['loopDelayMs']> {
  try {
    const text = await (await fetch(metricsUrl)).text();
    const read = (name: string): number => {
      const line = text.split('\n').find((l) => l.startsWith(`gateway_process_nodejs_eventloop_lag_${name}_seconds`));
      return line === undefined ? Number.NaN : Number(line.slice(line.lastIndexOf(' ') + 1)) * 1000;
    };
    return { p50: read('p50'), p99: read('p99'), max: read('max') };
  } catch {
    return undefined;
  }
}

/** A copy of config/gateway.yaml whose `server.limits` let the case's body through. */
function configWithoutLimits(runDir: string): string {
  mkdirSync(runDir, { recursive: true });
  const file = path.join(runDir, 'gateway.limits-off.yaml');
  const text = readFileSync(path.join(ROOT, 'config/gateway.yaml'), 'utf8');
  if (!/^server:\n/m.test(text)) throw new Error('config/gateway.yaml has no server: block to add limits to');
  writeFileSync(file, text.replace(/^server:\n/m, 'server:\n  limits: { maxMessages: 1000000, maxContentParts: 1000000, maxJsonValues: 10000000 }\n'));
  return file;
}

const fmt = (d: Dist | null | undefined, k: keyof Dist): string => (d ? d[k].toFixed(1) : '—');
const loopDelay = (d: Phase['loopDelayMs']): string => (d ? d.p99.toFixed(0) : '—');
const statusList = (s: Record<string, number>): string => Object.entries(s).map(([k, v]) => `${v}× ${k}`).join(', ') || '—';

function smallFailures(s: Phase['small']): string {
  if (s.failed === 0) return '0';
  const parts = Object.entries(s.statuses).filter(([k]) => !k.startsWith('2')).map(([k, v]) => `${v}× ${k}`);
  if (s.errors) parts.push(`${s.errors} connection errors`);
  if (s.timeouts) parts.push(`${s.timeouts} unanswered after 30 s`);
  return parts.join(', ');
}

/**
 * `--head-of-line`: small requests at 50/s while 16 large ones are in flight, per phase: none
 * (baseline), the robustness case's body, and the largest bodies the default limits accept
 * (bench/large-bodies.ts: by message and part count, by JSON values, by bytes).
 * Reports the small requests' p50/p99 and failures; `--limits-off` runs the same with the
 * limits raised (how the gateway behaved before them). Never a pass/fail on timing.
 */
export async function runHeadOfLine(o: HeadOfLineOptions): Promise<number> {
  const startedAt = new Date();
  o.log(`bench: head-of-line, ${o.seconds} s per phase, limits ${o.limitsOff ? 'off' : 'on (defaults)'} (logs in ${o.runDir})`);
  const topo = await startTopology({
    runDir: o.runDir,
    envoyConcurrency: o.envoyConcurrency,
    log: o.log,
    ...(o.limitsOff ? { gatewayConfig: configWithoutLimits(o.runDir) } : {}),
  });
  const clients = new Clients();
  const largePool = new Pool(topo.gateway.url, { connections: LARGE_IN_FLIGHT, headersTimeout: 120_000, bodyTimeout: 120_000 });
  const small = requestFor(ALL_PATHS.find((p) => p.id === 'gateway-openai')!, profilesFor(false).find((p) => p.id === 'instant')!, topo);
  const shapes: Array<LargeShape | undefined> = [
    undefined,
    { id: 'case', label: 'the case: 300,000 messages, 10.7 MB', body: caseBody() },
    // The largest the default limits accept: most messages and parts, most values, most bytes.
    ...largeBodies(),
  ];
  const phases: Phase[] = [];
  const sampler = new ProcessSampler({ extproc: topo.gateway.extproc.pid, 'envoy-gateway': topo.gateway.envoy.pid, 'sim-anthropic': topo.sims.anthropic.child.pid, loadgen: process.pid });
  try {
    for (const shape of shapes) {
      await scrapeLoopDelay(topo.gateway.metricsUrl); // resets the delay histogram for this phase
      const cpu0 = sampler.cpu();
      const endAt = performance.now() + o.seconds * 1000;
      const largeRun = shape ? largeLoops(largePool, topo, shape.body, endAt) : Promise.resolve(undefined);
      const smallRun = await openLoop(clients.pool(small.origin), small, SMALL_RATE, o.seconds);
      const large = await largeRun;
      const cpu = ProcessSampler.delta(cpu0, sampler.cpu());
      const loopDelayMs = await scrapeLoopDelay(topo.gateway.metricsUrl);
      const phase: Phase = {
        id: shape?.id ?? 'baseline',
        label: shape?.label ?? 'baseline: small requests only',
        small: { sent: smallRun.sent, ok: smallRun.ok, failed: smallRun.sent - smallRun.ok, statuses: smallRun.statuses, errors: smallRun.errors, timeouts: smallRun.timeouts, latency: dist(smallRun.latencies) },
        large,
        generatorLagP99: dist(smallRun.lag)?.p99 ?? Number.NaN,
        cpuS: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, Math.round(v * 10) / 10])),
        loopDelayMs,
      };
      phases.push(phase);
      o.log(`  ${phase.id}: small ok ${phase.small.ok}/${phase.small.sent}, p50 ${fmt(phase.small.latency, 'p50')} ms, p99 ${fmt(phase.small.latency, 'p99')} ms; large ${large ? statusList(large.statuses) : '—'}; ext_proc loop delay p99 ${loopDelay(loopDelayMs)} ms`);
    }
  } finally {
    await largePool.destroy().catch(() => undefined);
    await clients.close();
    await topo.stop();
  }
  const env = envInfo(topo.envoyBin);
  const result = { schema: 1, mode: 'head-of-line', limits: o.limitsOff ? 'off' : 'default', startedAt: startedAt.toISOString(), seconds: o.seconds, smallRate: SMALL_RATE, largeInFlight: LARGE_IN_FLIGHT, env, phases };
  const md = [
    `# llm-extproc head-of-line: limits ${result.limits}, ${result.startedAt}`,
    '',
    `Commit ${env.commit.slice(0, 12)}, ${env.cpuModel} × ${env.cores}, Node ${env.node}, Envoy ${env.envoy}.`,
    `Small: gateway → OpenAI sim, instant JSON, open loop ${SMALL_RATE}/s for ${o.seconds} s per phase (latency from the due time). Large: ${LARGE_IN_FLIGHT} in flight, closed loops, claude-sonnet-4-5.`,
    '',
    '| phase | small ok / sent | small p50 ms | small p99 ms | small max ms | small failures | large sent | large statuses | large p50 ms | CPU s: ext_proc / Envoy / loadgen | ext_proc loop delay p99 / max ms | generator lag p99 ms |',
    '| --- | ---: | ---: | ---: | ---: | --- | ---: | --- | ---: | ---: | ---: | ---: |',
    ...phases.map((p) =>
      `| ${p.label} | ${p.small.ok} / ${p.small.sent} | ${fmt(p.small.latency, 'p50')} | ${fmt(p.small.latency, 'p99')} | ${fmt(p.small.latency, 'max')} | ${smallFailures(p.small)} | ${p.large?.sent ?? '—'} | ${p.large ? statusList(p.large.statuses) + (p.large.errors ? `, ${p.large.errors} errors` : '') : '—'} | ${fmt(p.large?.latency, 'p50')} | ${p.cpuS['extproc']} / ${p.cpuS['envoy-gateway']} / ${p.cpuS['loadgen']} | ${loopDelay(p.loopDelayMs)} / ${p.loopDelayMs ? p.loopDelayMs.max.toFixed(0) : '—'} | ${p.generatorLagP99.toFixed(1)} |`,
    ),
  ].join('\n');
  const base = `head-of-line-${result.limits}-${o.stamp}`;
  writeFileSync(path.join(o.outDir, `${base}.json`), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(path.join(o.outDir, `${base}.md`), `${md}\n`);
  copyFileSync(path.join(o.outDir, `${base}.json`), path.join(o.outDir, `latest-head-of-line-${result.limits}.json`));
  copyFileSync(path.join(o.outDir, `${base}.md`), path.join(o.outDir, `latest-head-of-line-${result.limits}.md`));
  process.stdout.write(`${md}\n`);
  const anySmall = phases.some((p) => p.small.ok > 0);
  if (anySmall) rmSync(o.runDir, { recursive: true, force: true });
  return anySmall ? 0 : 1;
}
