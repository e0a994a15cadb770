import { spawnSync } from 'node:child_process';
import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ensureCerts } from '../../src/cli/certs.ts';
import { envInfo } from '../env-info.ts';
import { Clients } from '../load.ts';
import type { PolicyStore } from '../paths.ts';
import { ProcessSampler } from '../sampler.ts';
import { ROOT, startTopology, type Topology } from '../topology.ts';
import { aigwExtprocPath, aigwUnusableLine, startAigw, type AigwAnchor } from './aigw.ts';
import { renderAnchors } from './report.ts';
import { checkGoals, problemsOf, summarize, type AnchorResult } from './result.ts';
import { anchorPaths, anchorSettings, runAnchorSuite } from './suite.ts';

export interface AnchorRunOptions {
  runDir: string;
  outDir: string;
  quick: boolean;
  /** --anchors-rounds, --anchors-seconds (per slice). */
  rounds?: number;
  sliceS?: number;
  envoyConcurrency: number;
  /** --extproc-uds: our Envoys reach our ext_procs over a Unix socket too (default loopback TCP). */
  extprocUds: boolean;
  startedAt: Date;
  stamp: string;
  keepLogs: boolean;
  log: (m: string) => void;
}

/**
 * `npm run bench -- --anchors`: bare Envoy, the gateway (as configured; policies on with embedded state and on Redis)
 * and Envoy AI Gateway's ext_proc, side by side in one interleaved run. Writes
 * `<outDir>/anchors-<time>.{json,md}` (`-quick` suffix with --quick) and `anchors-latest.{json,md}` (or
 * `anchors-latest-quick.*`), prints the Markdown, returns the exit code (1 when a measurement got no successful sample on some path).
 */
export async function runAnchors(o: AnchorRunOptions): Promise<number> {
  const settings = anchorSettings(o.quick, { ...(o.rounds !== undefined ? { rounds: o.rounds } : {}), ...(o.sliceS !== undefined ? { sliceS: o.sliceS } : {}) });
  // Shorter than the default (fewer rounds or shorter slices): its own file name, never anchors-latest.* (the README's source).
  const defaults = anchorSettings(o.quick);
  const custom = settings.rounds < defaults.rounds || settings.sliceS < defaults.sliceS ? `custom run: ${settings.rounds} round${settings.rounds === 1 ? '' : 's'} × ${settings.sliceS} s` : undefined;
  const aigwBin = aigwExtprocPath();
  let aigwMissing = aigwUnusableLine(aigwBin);
  if (aigwMissing) o.log(`anchors: ${aigwMissing}`);
  const stores: PolicyStore[] = ['embedded'];
  if (spawnSync('redis-server', ['--version']).status === 0) stores.push('redis');
  else o.log('anchors: gateway-policies-redis left out: redis-server not found (apt-get install -y redis-server)');

  o.log(`anchors: ${custom ?? `${o.quick ? 'quick' : 'full'} run, ${settings.rounds} rounds × ${settings.sliceS} s slices`}; starting simulators, bare Envoy, the gateways${aigwMissing ? '' : ' and Envoy AI Gateway'} (logs in ${o.runDir})`);
  const topo: Topology = await startTopology({ runDir: o.runDir, envoyConcurrency: o.envoyConcurrency, log: o.log, policyGateways: stores, extprocUds: o.extprocUds });
  const clients = new Clients();
  let aigw: AigwAnchor | undefined;
  let sampler: ProcessSampler | undefined;
  let result: AnchorResult;
  try {
    if (!aigwMissing) {
      const caCert = (await ensureCerts(path.join(ROOT, '.run', 'bench-certs'))).caCert;
      try {
        aigw = await startAigw({ runDir: o.runDir, envoyBin: topo.envoyBin, extprocBin: aigwBin, envoyConcurrency: o.envoyConcurrency, caCert, openai: topo.sims.openai });
      } catch (err) {
        // A binary that does not come up (not AIGW's ext_proc, or broken) leaves the anchor out; the rest still runs.
        aigwMissing = `Envoy AI Gateway left out: ${err instanceof Error ? err.message : String(err)}`;
        o.log(`anchors: ${aigwMissing}`);
      }
    }
    const pids = { ...topo.pids(), ...(aigw ? { 'envoy-aigw': aigw.envoy.pid, 'extproc-aigw': aigw.extproc.pid } : {}) };
    sampler = new ProcessSampler(pids);
    sampler.start(500);
    const paths = anchorPaths(topo, aigw, settings);
    const raw = await runAnchorSuite(paths, clients, sampler, settings, o.log);
    sampler.stop();
    const summary = summarize(raw);
    result = {
      kind: 'anchors',
      mode: o.quick ? 'quick' : 'full',
      ...(custom ? { custom } : {}),
      startedAt: o.startedAt.toISOString(),
      env: envInfo(topo.envoyBin),
      settings,
      extprocTransport: o.extprocUds ? 'uds' : 'tcp',
      aigw: aigw ? { binary: aigwBin, version: aigw.version } : { missing: aigwMissing ?? 'not started' },
      paths: summary,
      goals: checkGoals(summary),
      problems: problemsOf(summary),
    };
  } finally {
    sampler?.stop();
    await clients.close();
    await aigw?.stop();
    await topo.stop();
  }

  const md = renderAnchors(result);
  const base = `anchors-${o.stamp}${o.quick ? '-quick' : ''}${custom ? '-custom' : ''}`;
  const latest = custom ? undefined : o.quick ? 'anchors-latest-quick' : 'anchors-latest';
  writeFileSync(path.join(o.outDir, `${base}.json`), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(path.join(o.outDir, `${base}.md`), `${md}\n`);
  if (latest) {
    copyFileSync(path.join(o.outDir, `${base}.json`), path.join(o.outDir, `${latest}.json`));
    copyFileSync(path.join(o.outDir, `${base}.md`), path.join(o.outDir, `${latest}.md`));
  }
  process.stdout.write(`${md}\n`);
  o.log(`anchors: wrote ${path.join(o.outDir, `${base}.{json,md}`)}${latest ? ` and ${latest}.{json,md}` : ` (${custom}, shorter than the default: ${o.quick ? 'anchors-latest-quick' : 'anchors-latest'}.* left as it was)`}`);
  // Broken: a measurement with no successful sample on some path (the table has a hole); failed requests alone are
  // reported under Problems, with the logs kept, and the run still counts.
  const broken = result.paths.filter((p) => !p.c1.dist || !p.c10.dist || !p.ttfb.dist || !(p.satRps > 0)).map((p) => p.id);
  if (broken.length > 0) o.log(`anchors: BROKEN: no successful sample in some measurement on ${broken.join(', ')}`);
  if (result.problems.length > 0) o.log(`anchors: ${result.problems.join('; ')}; the process logs stay in ${o.runDir}`);
  else if (!o.keepLogs && broken.length === 0) rmSync(o.runDir, { recursive: true, force: true });
  return broken.length > 0 ? 1 : 0;
}
