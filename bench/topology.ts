import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { ensureCerts } from '../src/cli/certs.ts';
import { findOrInstallEnvoy } from '../src/cli/envoy-binary.ts';
import { renderEnvoyConfig } from '../src/cli/envoy-config.ts';
import { freePort } from '../src/cli/ports.ts';
import { extprocNodeArgs } from '../src/cli/extproc-process.ts';
import type { PolicyStore } from './paths.ts';
import { writePolicyConfig } from './policy-config.ts';
import { spawnChild, waitUntil, type BenchChild } from './procs.ts';
import { startBenchRedis, type BenchRedis } from './redis.ts';

export const ROOT = path.resolve(import.meta.dirname, '..');

export interface SimEndpoints {
  readonly format: 'openai' | 'anthropic';
  readonly key: string;
  /** TLS + HTTP/2, what Envoy's clusters connect to. */
  readonly tlsPort: number;
  /** Plaintext HTTP/1.1, the "provider directly" path. */
  readonly plainPort: number;
  readonly child: BenchChild;
}

/** One gateway: its Envoy (envoy/envoy.yaml) and its ext_proc service. */
export interface GatewayInstance {
  readonly url: string;
  readonly adminUrl: string;
  readonly metricsUrl: string;
  readonly demoKey: string;
  readonly extproc: BenchChild;
  readonly envoy: BenchChild;
}

export interface Topology {
  readonly runDir: string;
  readonly envoyBin: string;
  readonly sims: { readonly openai: SimEndpoints; readonly anthropic: SimEndpoints };
  readonly bare: { readonly url: string; readonly adminUrl: string; readonly envoy: BenchChild };
  /** The gateway as configured (config/gateway.yaml: no rate limits, no budgets). */
  readonly gateway: GatewayInstance;
  /** The gateways with the benchmark's policies on (bench/policy-config.ts), when asked for. */
  readonly policies: { readonly embedded?: GatewayInstance; readonly redis?: GatewayInstance };
  /** The redis-server behind `policies.redis`. */
  readonly redis: BenchRedis | undefined;
  /** Processes whose CPU and memory the benchmark reports. */
  pids(): Record<string, number>;
  stop(): Promise<void>;
}

export interface TopologyOptions {
  runDir: string;
  envoyConcurrency: number;
  /** Extra node flags for the ext_proc child (e.g. --cpu-prof). */
  extprocNodeArgs?: string[];
  /** V8 flags instead of the production ones (EXTPROC_NODE_FLAGS), to measure a change. */
  extprocFlags?: string[];
  /** Extra environment for the ext_proc child. */
  extprocEnv?: NodeJS.ProcessEnv;
  /**
   * Envoy calls each gateway's ext_proc on a Unix domain socket (in a temp dir, removed at stop)
   * instead of a loopback TCP port (`--extproc-uds`; README, Operations, *Envoy → ext_proc transport*).
   */
  extprocUds?: boolean;
  /** Envoy template for the gateway (default envoy/envoy.yaml), e.g. to measure a config change. */
  gatewayEnvoyTemplate?: string;
  /** gateway.yaml for the ext_proc (default config/gateway.yaml), e.g. with other `server.limits`. */
  gatewayConfig?: string;
  /**
   * Also start a gateway (own Envoy + ext_proc, same config plus bench/policy-config.ts's
   * policies) per store listed: `embedded` (SQLite in the run dir), `redis` (a redis-server
   * started for the run).
   */
  policyGateways?: readonly PolicyStore[];
  log?: (msg: string) => void;
}

/** `npm run build`: the benchmark measures the compiled service, as production runs it. */
function buildCompiled(log: (msg: string) => void): void {
  log('bench: compiling the ext_proc service (npm run build)');
  const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (tsc.status !== 0) throw new Error(`npm run build failed (tsc exit ${String(tsc.status)})`);
}

async function startSim(format: 'openai' | 'anthropic', runDir: string, certs: { cert: string; key: string }): Promise<SimEndpoints> {
  const key = `sim-bench-${format}-${randomBytes(12).toString('hex')}`;
  const child = spawnChild(
    `sim-${format}`,
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'bench/sim-host.ts'), '--format', format, '--tls-cert', certs.cert, '--tls-key', certs.key, '--api-key', key],
    { logFile: path.join(runDir, `sim-${format}.log`), pipeStdout: true },
  );
  const lines = createInterface({ input: child.proc.stdout! });
  const first = new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    void child.exited.then((code) => reject(new Error(`sim-${format} exited with code ${String(code)} before announcing its ports (see ${runDir}/sim-${format}.log)`)));
    setTimeout(() => reject(new Error(`sim-${format}: no ports after 20 s`)), 20_000).unref();
  });
  const ports = JSON.parse(await first) as { tlsPort: number; plainPort: number };
  lines.close();
  child.proc.stdout!.resume();
  return { format, key, tlsPort: ports.tlsPort, plainPort: ports.plainPort, child };
}

function startEnvoy(name: string, bin: string, config: string, concurrency: number, runDir: string): BenchChild {
  return spawnChild(name, bin, ['-c', config, '--use-dynamic-base-id', '--concurrency', String(concurrency), '--log-level', process.env.ENVOY_LOG_LEVEL ?? 'warn'], {
    logFile: path.join(runDir, `${name}.log`),
  });
}

const ready = async (url: string): Promise<boolean> => (await fetch(url)).status === 200;

interface GatewayContext {
  readonly opts: TopologyOptions;
  readonly runDir: string;
  readonly envoyBin: string;
  readonly certs: { cert: string; key: string; caCert: string };
  readonly openai: SimEndpoints;
  readonly anthropic: SimEndpoints;
  readonly demoKey: string;
  /** Children started so far (stopped in reverse on failure or at the end). */
  readonly started: BenchChild[];
  /** Where the ext_proc sockets go (opts.extprocUds): a short path, sun_path holds 107 bytes. */
  readonly socketDir: string | undefined;
}

/**
 * One gateway: the ext_proc child with `config` (its SQLite state in the run dir, `extraEnv`
 * e.g. REDIS_URL) and an Envoy from the gateway template pointed at it and at the simulators.
 * `suffix` names its processes and logs: `extproc<suffix>` and `envoy<suffix>` (`extproc`,
 * `envoy-gateway` without one; bench/paths.ts `gatewayProcs` reads the same names).
 */
async function startGateway(ctx: GatewayContext, suffix: string, config: string, extraEnv: NodeJS.ProcessEnv): Promise<GatewayInstance> {
  const { opts, runDir, envoyBin, certs, openai, anthropic, demoKey } = ctx;
  const extprocPort = await freePort();
  const extprocTarget = ctx.socketDir ? `unix:${path.join(ctx.socketDir, `extproc${suffix}.sock`)}` : `127.0.0.1:${extprocPort}`;
  const metricsPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...opts.extprocEnv,
    GATEWAY_DEMO_KEY: demoKey,
    GATEWAY_DEMO_SUPPORT_KEY: `${demoKey}-support`,
    SIM_OPENAI_PRIMARY_KEY: openai.key,
    SIM_OPENAI_BACKUP_KEY: openai.key,
    SIM_ANTHROPIC_KEY: anthropic.key,
    SIM_GEMINI_KEY: 'unused-in-the-benchmark',
    // Each gateway its own state: never the developer's .run/state, never another gateway's.
    GATEWAY_STATE_FILE: path.join(runDir, `state${suffix}.sqlite`),
    ...extraEnv,
  };
  if (!extraEnv.REDIS_URL) delete env.REDIS_URL;
  const extproc = spawnChild(
    `extproc${suffix}`,
    process.execPath,
    [
      ...(opts.extprocNodeArgs ?? []),
      ...extprocNodeArgs('compiled', opts.extprocFlags),
      '--config',
      config,
      '--listen',
      extprocTarget,
      '--metrics-listen',
      `127.0.0.1:${metricsPort}`,
    ],
    { env, logFile: path.join(runDir, `extproc${suffix}.log`) },
  );
  ctx.started.push(extproc);
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;

  const gwValues = {
    ADMIN_PORT: await freePort(),
    LISTEN_HOST: '127.0.0.1',
    PLAIN_LISTEN_HOST: '127.0.0.1',
    HTTPS_PORT: await freePort(),
    HTTP_PORT: await freePort(),
    TLS_CERT: certs.cert,
    TLS_KEY: certs.key,
    CA_CERT: certs.caCert,
    EXTPROC_TARGET: extprocTarget,
    // For templates that need the address as a cluster's (bench/experiments/envoy-grpc-variant.ts); TCP only.
    ...(ctx.socketDir ? {} : { EXTPROC_HOST: '127.0.0.1', EXTPROC_PORT: extprocPort }),
    OPENAI_PRIMARY_PORT: openai.tlsPort,
    OPENAI_BACKUP_PORT: openai.tlsPort,
    ANTHROPIC_PORT: anthropic.tlsPort,
    GEMINI_PORT: await freePort(), // no Gemini path in the benchmark: nothing listens
  };
  const gwConfig = path.join(runDir, `envoy-gateway${suffix}.rendered.yaml`);
  renderEnvoyConfig(opts.gatewayEnvoyTemplate ?? path.join(ROOT, 'envoy/envoy.yaml'), gwConfig, gwValues);
  await waitUntil(`ext_proc service${suffix}`, () => ready(metricsUrl), 30_000, extproc.exited);
  const envoyName = suffix ? `envoy${suffix}` : 'envoy-gateway';
  const gwEnvoy = startEnvoy(envoyName, envoyBin, gwConfig, opts.envoyConcurrency, runDir);
  ctx.started.push(gwEnvoy);
  const adminUrl = `http://127.0.0.1:${gwValues.ADMIN_PORT}`;
  await waitUntil(`${envoyName} envoy`, () => ready(`${adminUrl}/ready`), 30_000, gwEnvoy.exited);
  return { url: `http://127.0.0.1:${gwValues.HTTP_PORT}`, adminUrl, metricsUrl, demoKey, extproc, envoy: gwEnvoy };
}

/**
 * Everything on loopback: two simulated providers (OpenAI and Anthropic format, each its own
 * process), a bare Envoy (envoy/bench-bare.yaml) and the full gateway (envoy/envoy.yaml + the
 * ext_proc service compiled, as the image runs it: `npm run build`, then `node dist/main.js`
 * with EXTPROC_NODE_FLAGS), the gateway's provider clusters pointed at the same simulators as
 * the bare Envoy's. With `policyGateways`, one more gateway per store with the benchmark's
 * policies on (and for Redis a redis-server), each its own Envoy + ext_proc.
 */
export async function startTopology(opts: TopologyOptions): Promise<Topology> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const runDir = opts.runDir;
  mkdirSync(runDir, { recursive: true });
  const started: BenchChild[] = [];
  const socketDir = opts.extprocUds ? mkdtempSync(path.join(tmpdir(), 'llmx-bench-')) : undefined;
  const stop = async (): Promise<void> => {
    for (const c of started.reverse()) await c.stop().catch(() => undefined);
    if (socketDir) rmSync(socketDir, { recursive: true, force: true });
  };
  try {
    const certs = await ensureCerts(path.join(ROOT, '.run', 'bench-certs'));
    const envoyBin = findOrInstallEnvoy(log);
    buildCompiled(log);
    const [openai, anthropic] = await Promise.all([startSim('openai', runDir, certs), startSim('anthropic', runDir, certs)]);
    started.push(openai.child, anthropic.child);

    // Bare Envoy.
    const bareValues = {
      ADMIN_PORT: await freePort(),
      HTTP_PORT: await freePort(),
      CA_CERT: certs.caCert,
      OPENAI_PORT: openai.tlsPort,
      ANTHROPIC_PORT: anthropic.tlsPort,
    };
    const bareConfig = path.join(runDir, 'envoy-bare.rendered.yaml');
    renderEnvoyConfig(path.join(ROOT, 'envoy/bench-bare.yaml'), bareConfig, bareValues);
    const bareEnvoy = startEnvoy('envoy-bare', envoyBin, bareConfig, opts.envoyConcurrency, runDir);
    started.push(bareEnvoy);

    const demoKey = `sk-bench-${randomBytes(18).toString('base64url')}`;
    const gwCtx: GatewayContext = { opts, runDir, envoyBin, certs, openai, anthropic, demoKey, started, socketDir };
    const gateway = await startGateway(gwCtx, '', opts.gatewayConfig ?? path.join(ROOT, 'config/gateway.yaml'), {});
    const policies: { embedded?: GatewayInstance; redis?: GatewayInstance } = {};
    let redis: BenchRedis | undefined;
    for (const store of opts.policyGateways ?? []) {
      const config = writePolicyConfig(opts.gatewayConfig ?? path.join(ROOT, 'config/gateway.yaml'), path.join(runDir, `gateway.policies-${store}.yaml`));
      if (store === 'redis') {
        redis = await startBenchRedis(runDir);
        started.push(redis.child);
      }
      policies[store] = await startGateway(gwCtx, `-policies-${store}`, config, store === 'redis' ? { REDIS_URL: redis!.url } : {});
    }

    const bareAdmin = `http://127.0.0.1:${bareValues.ADMIN_PORT}`;
    await waitUntil('bare envoy', () => ready(`${bareAdmin}/ready`), 30_000, bareEnvoy.exited);
    return {
      runDir,
      envoyBin,
      sims: { openai, anthropic },
      bare: { url: `http://127.0.0.1:${bareValues.HTTP_PORT}`, adminUrl: bareAdmin, envoy: bareEnvoy },
      gateway,
      policies,
      redis,
      pids: () => ({
        extproc: gateway.extproc.pid,
        'envoy-gateway': gateway.envoy.pid,
        ...(policies.embedded ? { 'extproc-policies-embedded': policies.embedded.extproc.pid, 'envoy-policies-embedded': policies.embedded.envoy.pid } : {}),
        ...(policies.redis ? { 'extproc-policies-redis': policies.redis.extproc.pid, 'envoy-policies-redis': policies.redis.envoy.pid } : {}),
        ...(redis ? { redis: redis.child.pid } : {}),
        'envoy-bare': bareEnvoy.pid,
        'sim-openai': openai.child.pid,
        'sim-anthropic': anthropic.child.pid,
        loadgen: process.pid,
      }),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
