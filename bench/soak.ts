import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { envInfo } from './env-info.ts';
import { Clients, openLoop } from './load.ts';
import { ALL_PATHS, requestFor, type PathId } from './paths.ts';
import { profilesFor, type Profile } from './profiles.ts';
import { ProcessSampler } from './sampler.ts';
import { dist, median } from './stats.ts';
import { startTopology } from './topology.ts';

export interface SoakOptions {
  runDir: string;
  outDir: string;
  minutes: number;
  envoyConcurrency: number;
  stamp: string;
  log: (m: string) => void;
}

/** Mixed open-loop load through the gateway, 10 s per scenario, cycled. */
const SCENARIOS: Array<{ path: PathId; profile: Profile['id']; rate: number }> = [
  { path: 'gateway-openai', profile: 'instant', rate: 500 },
  { path: 'gateway-anthropic', profile: 'instant', rate: 500 },
  { path: 'gateway-openai', profile: 'latency60', rate: 300 },
  { path: 'gateway-anthropic', profile: 'stream64', rate: 30 },
  { path: 'gateway-openai', profile: 'stream64', rate: 30 },
];
const WINDOW_S = 10;

function slopePerMin(points: Array<{ t: number; v: number }>): number {
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

/**
 * `--soak`: ext_proc RSS under ~10 minutes of mixed load (not for CI). RSS is sampled every
 * 5 s; "flat" means the last minute's median is within 10 MB of the first settled minute's
 * and the fitted slope after the first minute extrapolates to under 10 MB over the run.
 */
export async function runSoak(o: SoakOptions): Promise<number> {
  const startedAt = new Date();
  o.log(`bench: soak for ${o.minutes} min (logs in ${o.runDir})`);
  const topo = await startTopology({ runDir: o.runDir, envoyConcurrency: o.envoyConcurrency, log: o.log });
  const clients = new Clients();
  const sampler = new ProcessSampler({ extproc: topo.gateway.extproc.pid, 'envoy-gateway': topo.gateway.envoy.pid });
  const profiles = profilesFor(false);
  const windows: Array<{ t: number; path: PathId; profile: string; rate: number; sent: number; ok: number; failed: number; p99: number }> = [];
  try {
    sampler.start(5000, true);
    const end = Date.now() + o.minutes * 60_000;
    let i = 0;
    while (Date.now() < end) {
      const sc = SCENARIOS[i % SCENARIOS.length]!;
      i++;
      const spec = requestFor(ALL_PATHS.find((p) => p.id === sc.path)!, profiles.find((p) => p.id === sc.profile)!, topo);
      const run = await openLoop(clients.pool(spec.origin), spec, sc.rate, WINDOW_S);
      const d = dist(run.latencies);
      const w = { t: Math.round((Date.now() - startedAt.getTime()) / 1000), path: sc.path, profile: sc.profile, rate: sc.rate, sent: run.sent, ok: run.ok, failed: run.sent - run.ok, p99: d?.p99 ?? Number.NaN };
      windows.push(w);
      const rss = sampler.sampleRss()['extproc'];
      o.log(`  t=${String(w.t).padStart(4)}s ${sc.path}/${sc.profile} @${sc.rate}/s: ok ${w.ok}/${w.sent}, p99 ${w.p99.toFixed(2)} ms, ext_proc RSS ${rss?.toFixed(1)} MB`);
    }
  } finally {
    sampler.stop();
    await clients.close();
    await topo.stop();
  }
  const series = sampler.timeline.filter((s) => s.rssMB['extproc'] !== undefined).map((s) => ({ t: s.t, v: s.rssMB['extproc']! }));
  const settledFrom = Math.min(60, (o.minutes * 60) / 5);
  const first = series.filter((p) => p.t >= settledFrom && p.t < settledFrom + 60).map((p) => p.v);
  const lastT = series.at(-1)?.t ?? 0;
  const last = series.filter((p) => p.t > lastT - 60).map((p) => p.v);
  const slope = slopePerMin(series.filter((p) => p.t >= settledFrom));
  const settled = median(first);
  const final = median(last);
  const peak = Math.max(...series.map((p) => p.v), sampler.peakRssMB['extproc'] ?? 0);
  const growth = final - settled;
  const flat = Number.isFinite(growth) && growth <= 10 && (!Number.isFinite(slope) || slope * o.minutes <= 10);
  const sent = windows.reduce((s, w) => s + w.sent, 0);
  const failed = windows.reduce((s, w) => s + w.failed, 0);
  const result = {
    schema: 1,
    mode: 'soak',
    startedAt: startedAt.toISOString(),
    minutes: o.minutes,
    env: envInfo(topo.envoyBin),
    scenarios: SCENARIOS,
    extproc: { settledRssMB: settled, finalRssMB: final, peakRssMB: Math.round(peak * 10) / 10, growthMB: Math.round(growth * 10) / 10, slopeMBPerMin: Math.round(slope * 100) / 100, flat, withinTarget: peak <= 120 },
    requests: { sent, failed },
    windows,
    rssTimeline: sampler.timeline,
  };
  const md = [
    `# llm-extproc soak: ${o.minutes} min, ${result.startedAt}`,
    '',
    `Commit ${result.env.commit.slice(0, 12)}, ${result.env.cpuModel} × ${result.env.cores}, Node ${result.env.node}, Envoy ${result.env.envoy}.`,
    `Load: ${SCENARIOS.map((s) => `${s.path}/${s.profile} @${s.rate}/s`).join(', ')}, ${WINDOW_S} s each, cycled. ${sent} requests, ${failed} failed.`,
    '',
    '| ext_proc RSS | MB |',
    '| --- | ---: |',
    `| settled (median of minute 2) | ${settled.toFixed(1)} |`,
    `| final (median of last minute) | ${final.toFixed(1)} |`,
    `| peak (sampled RSS, VmHWM) | ${peak.toFixed(1)} |`,
    `| growth settled → final | ${growth.toFixed(1)} |`,
    `| fitted slope after minute 1 | ${Number.isFinite(slope) ? slope.toFixed(2) : '—'} MB/min |`,
    '',
    `Flat: **${flat ? 'yes' : 'no'}**; peak ≤ 120 MB: **${peak <= 120 ? 'yes' : 'no'}**.`,
  ].join('\n');
  writeFileSync(path.join(o.outDir, `soak-${o.stamp}.json`), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(path.join(o.outDir, `soak-${o.stamp}.md`), `${md}\n`);
  copyFileSync(path.join(o.outDir, `soak-${o.stamp}.json`), path.join(o.outDir, 'latest-soak.json'));
  copyFileSync(path.join(o.outDir, `soak-${o.stamp}.md`), path.join(o.outDir, 'latest-soak.md'));
  process.stdout.write(`${md}\n`);
  if (sent > 0 && failed < sent) rmSync(o.runDir, { recursive: true, force: true });
  return sent > 0 && failed < sent ? 0 : 1;
}
