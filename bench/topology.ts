import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { ensureCerts } from '../src/cli/certs.ts';
import { findOrInstallEnvoy } from '../src/cli/envoy-binary.ts';
import { renderEnvoyConfig } from '../src/cli/envoy-config.ts';
import { freePort } from '../src/cli/ports.ts';
import { extprocNodeArgs } from '../src/cli/extproc-process.ts';
import { spawnChild, waitUntil, type BenchChild } from './procs.ts';

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

export interface Topology {
  readonly runDir: string;
  readonly envoyBin: string;
  readonly sims: { readonly openai: SimEndpoints; readonly anthropic: SimEndpoints };
  readonly bare: { readonly url: string; readonly adminUrl: string; readonly envoy: BenchChild };
  readonly gateway: {
    readonly url: string;
    readonly adminUrl: string;
    readonly metricsUrl: string;
    readonly demoKey: string;
    readonly extproc: BenchChild;
    readonly envoy: BenchChild;
  };
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
  /** Envoy template for the gateway (default envoy/envoy.yaml), e.g. to measure a config change. */
  gatewayEnvoyTemplate?: string;
  /** gateway.yaml for the ext_proc (default config/gateway.yaml), e.g. with other `server.limits`. */
  gatewayConfig?: string;
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

/**
 * Everything on loopback: two simulated providers (OpenAI and Anthropic format, each its own
 * process), a bare Envoy (envoy/bench-bare.yaml) and the full gateway (envoy/envoy.yaml + the
 * ext_proc service compiled, as the image runs it: `npm run build`, then `node dist/main.js`
 * with EXTPROC_NODE_FLAGS), the gateway's provider clusters pointed at the same simulators as
 * the bare Envoy's.
 */
export async function startTopology(opts: TopologyOptions): Promise<Topology> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const runDir = opts.runDir;
  mkdirSync(runDir, { recursive: true });
  const started: BenchChild[] = [];
  const stop = async (): Promise<void> => {
    for (const c of started.reverse()) await c.stop().catch(() => undefined);
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

    // Gateway: ext_proc child + Envoy from envoy/envoy.yaml.
    const demoKey = `sk-bench-${randomBytes(18).toString('base64url')}`;
    const extprocPort = await freePort();
    const metricsPort = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...opts.extprocEnv,
      GATEWAY_DEMO_KEY: demoKey,
      SIM_OPENAI_PRIMARY_KEY: openai.key,
      SIM_OPENAI_BACKUP_KEY: openai.key,
      SIM_ANTHROPIC_KEY: anthropic.key,
      SIM_GEMINI_KEY: 'unused-in-the-benchmark',
    };
    const extproc = spawnChild(
      'extproc',
      process.execPath,
      [
        ...(opts.extprocNodeArgs ?? []),
        ...extprocNodeArgs('compiled', opts.extprocFlags),
        '--config',
        opts.gatewayConfig ?? path.join(ROOT, 'config/gateway.yaml'),
        '--listen',
        `127.0.0.1:${extprocPort}`,
        '--metrics-listen',
        `127.0.0.1:${metricsPort}`,
      ],
      { env, logFile: path.join(runDir, 'extproc.log') },
    );
    started.push(extproc);
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
      EXTPROC_HOST: '127.0.0.1',
      EXTPROC_PORT: extprocPort,
      OPENAI_PRIMARY_PORT: openai.tlsPort,
      OPENAI_BACKUP_PORT: openai.tlsPort,
      ANTHROPIC_PORT: anthropic.tlsPort,
      GEMINI_PORT: await freePort(), // no Gemini path in the benchmark: nothing listens
    };
    const gwConfig = path.join(runDir, 'envoy-gateway.rendered.yaml');
    renderEnvoyConfig(opts.gatewayEnvoyTemplate ?? path.join(ROOT, 'envoy/envoy.yaml'), gwConfig, gwValues);
    await waitUntil('ext_proc service', () => ready(metricsUrl), 30_000, extproc.exited);
    const gwEnvoy = startEnvoy('envoy-gateway', envoyBin, gwConfig, opts.envoyConcurrency, runDir);
    started.push(gwEnvoy);

    const bareAdmin = `http://127.0.0.1:${bareValues.ADMIN_PORT}`;
    const gwAdmin = `http://127.0.0.1:${gwValues.ADMIN_PORT}`;
    await Promise.all([
      waitUntil('bare envoy', () => ready(`${bareAdmin}/ready`), 30_000, bareEnvoy.exited),
      waitUntil('gateway envoy', () => ready(`${gwAdmin}/ready`), 30_000, gwEnvoy.exited),
    ]);
    return {
      runDir,
      envoyBin,
      sims: { openai, anthropic },
      bare: { url: `http://127.0.0.1:${bareValues.HTTP_PORT}`, adminUrl: bareAdmin, envoy: bareEnvoy },
      gateway: { url: `http://127.0.0.1:${gwValues.HTTP_PORT}`, adminUrl: gwAdmin, metricsUrl, demoKey, extproc, envoy: gwEnvoy },
      pids: () => ({
        extproc: extproc.pid,
        'envoy-gateway': gwEnvoy.pid,
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
