import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runAnchors } from './anchors/run.ts';
import { compareFiles } from './compare.ts';
import { envInfo } from './env-info.ts';
import { runHeadOfLine } from './head-of-line.ts';
import { Clients } from './load.ts';
import { ALL_PATHS, POLICIES_OFF_PATH, POLICY_PATHS, type PathId } from './paths.ts';
import { checkBenchArgs, parseArgsErrorLine, UsageError, type BenchNumbers } from './options.ts';
import { installCleanup, stopAllChildren } from './procs.ts';
import type { Profile } from './profiles.ts';
import { runProfile } from './profile-mode.ts';
import { renderMarkdown } from './report.ts';
import { buildResult, type BenchResult } from './result.ts';
import { ProcessSampler } from './sampler.ts';
import { settingsFor, type Mode } from './settings.ts';
import { measureRoutePlanning } from './routing-order.ts';
import { runSoak, SOAK_DEFAULT_MINUTES } from './soak.ts';
import { runSuite } from './suite.ts';
import { runTail } from './tail/run.ts';
import { ROOT, startTopology } from './topology.ts';

const USAGE = `npm run bench -- [options]   (a mode's own option without its mode, e.g. --soak-minutes without --soak, is refused: exit 2)
  (no option)          full benchmark (~15 min): writes bench/results/<time>.{json,md} and latest.{json,md}
  --quick              smoke run (~30 s) for CI: same tables, numbers not meaningful; writes latest-quick.*
  --soak               10 min at a steady 1,000 req/s (JSON, translated JSON, streams) through the gateway with policies on (embedded state): 0 failures, RSS flat, p99 stable; writes soak-<time>.{json,md}, latest-soak.*; exit 1 if a rule fails
  --soak-minutes N     soak length, ≥ 2 (default 10); a shorter soak than 10 writes soak-<time>-<N>min.* only, never latest-soak.*
  --soak-redis         the soak on the gateway with its policy state in Redis (needs redis-server); writes soak-redis-<time>.*, latest-soak-redis.*
  --profile            CPU profile of the ext_proc under load (node --cpu-prof), top self-time functions
  --tail               where the slowest requests go: c=1 and c=10 through the gateway, each latency band matched against the ext_proc's GCs and event-loop gaps; writes tail-<time>.{json,md}, latest-tail.*
  --tail-seconds N     load time per concurrency in --tail (default 15)
  --profile-seconds N  load time per scenario in --profile (default 15)
  --head-of-line       small requests at 50/s while 16 large ones are in flight (the case's shape, refused; the largest bodies the limits accept); small p50/p99, failures, ext_proc loop delay
  --head-of-line-seconds N  seconds per phase (default 15)
  --limits-off         with --head-of-line: server.limits raised out of the way (the gateway before the limits)
  --anchors            side by side with Envoy AI Gateway's ext_proc (~9 min; with --quick ~1 min): bare Envoy, the gateway, with policies (embedded, Redis), AIGW; writes anchors-<time>.{json,md} and anchors-latest.*
  --anchors-seconds N  seconds per slice in --anchors, ≥ 0.5 (default 5; quick 1)
  --anchors-rounds N   interleaved rounds in --anchors (default 4; quick 2); fewer rounds or shorter slices than the default: a custom run, written as anchors-<time>[-quick]-custom.* only, never anchors-latest*.*
  --compare A.json [B.json]  B (default: results/latest.json) against baseline A; exit 1 on a regression beyond noise
  --out-dir DIR        where results go (default bench/results)
  --paths a,b          only these paths, in the main benchmark (--anchors, --soak, --tail, --profile, --head-of-line measure fixed paths) (${ALL_PATHS.map((p) => p.id).join(', ')}; default: all but the policy paths)
  --policies           add the policy paths (gateway-policies-embedded, gateway-policies-redis: rate limits and a budget on, embedded state and Redis; needs redis-server) and gateway-openai to compare them with
  --profiles a,b       only these profiles (instant, latency60, stream64)
  --envoy-concurrency N  Envoy worker threads (default: CPU count)
  --gateway-envoy-config FILE  measure the gateway with this Envoy template instead of envoy/envoy.yaml
  --extproc-flags "F"  V8 flags for the ext_proc service instead of the production ones (to measure a change)
  --extproc-uds        Envoy calls the ext_proc on a Unix domain socket instead of loopback TCP
  --keep-logs          keep the process logs (.run/bench/<time>/) after a successful run`;

const argSpec = {
  allowPositionals: true,
  options: {
    quick: { type: 'boolean', default: false },
    soak: { type: 'boolean', default: false },
    'soak-minutes': { type: 'string' },
    'soak-redis': { type: 'boolean', default: false },
    tail: { type: 'boolean', default: false },
    'tail-seconds': { type: 'string' },
    profile: { type: 'boolean', default: false },
    'profile-seconds': { type: 'string' },
    'head-of-line': { type: 'boolean', default: false },
    'head-of-line-seconds': { type: 'string' },
    'limits-off': { type: 'boolean', default: false },
    compare: { type: 'string' },
    'out-dir': { type: 'string' },
    paths: { type: 'string' },
    profiles: { type: 'string' },
    'envoy-concurrency': { type: 'string' },
    'gateway-envoy-config': { type: 'string' },
    'keep-logs': { type: 'boolean', default: false },
    anchors: { type: 'boolean', default: false },
    'anchors-seconds': { type: 'string' },
    'anchors-rounds': { type: 'string' },
    'extproc-flags': { type: 'string' },
    'extproc-uds': { type: 'boolean', default: false },
    policies: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
} as const;

/** A bad command line: one line, exit 2, before anything starts (no stack trace). */
function usageExit(line: string): never {
  process.stderr.write(`npm run bench: ${line} (--help lists the options)\n`);
  process.exit(2);
}

let parsed: ReturnType<typeof parseArgs<typeof argSpec>>;
try {
  parsed = parseArgs(argSpec);
} catch (err) {
  usageExit(parseArgsErrorLine(err as Error & { code?: string }));
}
const { values, positionals } = parsed;
let nums: BenchNumbers = {};
if (!values.help && !values.compare) {
  try {
    nums = checkBenchArgs(values);
  } catch (err) {
    if (err instanceof UsageError) usageExit(err.message);
    throw err;
  }
}

const t0 = Date.now();
const log = (m: string): void => {
  const lead = /^\n*/.exec(m)![0];
  process.stderr.write(`${lead}[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${m.slice(lead.length)}\n`);
};
const stamp = (d: Date): string => d.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
const outDir = path.resolve(values['out-dir'] ?? path.join(ROOT, 'bench/results'));

async function main(): Promise<number> {
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.compare) {
    const a = values.compare;
    const b = positionals[0] ?? path.join(outDir, 'latest.json');
    const { markdown, regressions } = compareFiles(a, b);
    process.stdout.write(`${markdown}\n`);
    return regressions > 0 ? 1 : 0;
  }

  installCleanup();
  const startedAt = new Date();
  const runDir = path.join(ROOT, '.run', 'bench', `${stamp(startedAt)}-${process.pid}`);
  const cores = os.cpus().length;
  const envoyConcurrency = nums.envoyConcurrency ?? cores;
  mkdirSync(outDir, { recursive: true });

  if (values.soak || values['soak-redis']) {
    const minutes = nums.soakMinutes ?? SOAK_DEFAULT_MINUTES;
    return runSoak({ runDir, outDir, minutes, envoyConcurrency, stamp: stamp(startedAt), store: values['soak-redis'] ? 'redis' : 'embedded', extprocUds: values['extproc-uds'], log });
  }
  if (values.tail) {
    const seconds = nums.tailSeconds ?? 15;
    return runTail({ runDir, outDir, seconds, envoyConcurrency, extprocUds: values['extproc-uds'], stamp: stamp(startedAt), log });
  }
  if (values.profile) {
    const seconds = nums.profileSeconds ?? 15;
    return runProfile({ runDir, outDir, seconds, envoyConcurrency, stamp: stamp(startedAt), log });
  }

  if (values.anchors) {
    const rounds = nums.anchorsRounds;
    const sliceS = nums.anchorsSeconds;
    return runAnchors({ runDir, outDir, quick: values.quick, rounds, sliceS, envoyConcurrency, extprocUds: values['extproc-uds'], startedAt, stamp: stamp(startedAt), keepLogs: values['keep-logs'], log });
  }
  if (values['head-of-line']) {
    const seconds = nums.headOfLineSeconds ?? 15;
    return runHeadOfLine({ runDir, outDir, seconds, limitsOff: values['limits-off'], envoyConcurrency, stamp: stamp(startedAt), log });
  }

  const mode: Mode = values.quick ? 'quick' : 'full';
  const settings = settingsFor(mode, cores);
  settings.envoyConcurrency = envoyConcurrency;
  if (values.paths) settings.paths = values.paths.split(',').map((s) => s.trim()) as PathId[];
  if (values.policies) for (const p of [POLICIES_OFF_PATH, ...POLICY_PATHS]) if (!settings.paths.includes(p)) settings.paths.push(p);
  if (values.profiles) settings.profiles = values.profiles.split(',').map((s) => s.trim()) as Array<Profile['id']>;
  if (values['extproc-flags'] !== undefined) settings.extprocFlags = values['extproc-flags'].split(/\s+/).filter(Boolean);
  if (values['extproc-uds']) settings.extprocUds = true;
  for (const p of settings.paths) if (!ALL_PATHS.some((x) => x.id === p)) usageExit(`--paths: unknown path ${p} (one of ${ALL_PATHS.map((x) => x.id).join(', ')})`);

  // In-process and first, while nothing else of the bench runs: seconds (quick: well under one).
  log('bench: per-request planning (routeRequest in-process, bench/routing-order.ts)');
  const routing = measureRoutePlanning(mode === 'quick' ? { batches: 2, perBatch: 2_000 } : {});
  for (const r of routing.rows) log(`  ${r.case.padEnd(40)} ${r.us.toFixed(2).padStart(6)} µs/req (with explain() ${r.usWithExplain.toFixed(2)})`);
  log(`bench: ${mode} run; starting simulated providers, bare Envoy and the gateway (logs in ${runDir})`);
  const gatewayEnvoyTemplate = values['gateway-envoy-config'] ? path.resolve(values['gateway-envoy-config']) : undefined;
  const policyGateways = ALL_PATHS.filter((p) => p.policies && settings.paths.includes(p.id)).map((p) => p.policies!);
  const topo = await startTopology({ runDir, envoyConcurrency, log, extprocFlags: settings.extprocFlags, extprocUds: settings.extprocUds === true, policyGateways, ...(gatewayEnvoyTemplate ? { gatewayEnvoyTemplate } : {}) });
  const clients = new Clients();
  let result: BenchResult;
  let sampler: ProcessSampler | undefined;
  try {
    const env = envInfo(topo.envoyBin);
    sampler = new ProcessSampler(topo.pids());
    sampler.start(500);
    const cpu0 = sampler.cpu();
    const raw = await runSuite(topo, clients, sampler, settings, log);
    const cpuTotal = ProcessSampler.delta(cpu0, sampler.cpu());
    sampler.stop();
    const processes: BenchResult['processes'] = {};
    for (const name of Object.keys(topo.pids())) {
      processes[name] = { cpuS: Math.round((cpuTotal[name] ?? Number.NaN) * 10) / 10, peakRssMB: Math.round((sampler.peakRssMB[name] ?? Number.NaN) * 10) / 10 };
    }
    result = buildResult(raw, { mode, startedAt, env, settings, processes, routing });
    if (gatewayEnvoyTemplate) result.gatewayEnvoyTemplate = path.relative(ROOT, gatewayEnvoyTemplate);
  } finally {
    sampler?.stop();
    await clients.close();
    await topo.stop();
  }

  const md = renderMarkdown(result);
  const base = mode === 'quick' ? `${stamp(startedAt)}-quick` : stamp(startedAt);
  const latest = mode === 'quick' ? 'latest-quick' : 'latest';
  writeFileSync(path.join(outDir, `${base}.json`), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(path.join(outDir, `${base}.md`), `${md}\n`);
  copyFileSync(path.join(outDir, `${base}.json`), path.join(outDir, `${latest}.json`));
  copyFileSync(path.join(outDir, `${base}.md`), path.join(outDir, `${latest}.md`));
  process.stdout.write(`${md}\n`);
  log(`bench: wrote ${path.join(outDir, `${base}.{json,md}`)} and ${latest}.{json,md}`);
  if (result.broken) {
    log(`bench: BROKEN: ${result.problems.join('; ')}`);
    return 1;
  }
  if (result.problems.length > 0) log(`bench: ${result.problems.length} problem(s); the process logs stay in ${runDir}`);
  else if (!values['keep-logs']) rmSync(runDir, { recursive: true, force: true });
  return 0;
}

main().then(
  (code) => process.exit(code),
  async (err: unknown) => {
    if (err instanceof UsageError) usageExit(err.message);
    log(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    await stopAllChildren();
    process.exit(1);
  },
);
