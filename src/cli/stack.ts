import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { startSimProvider, type SimFormat, type SimProvider } from '../simulator/index.ts';
import { ensureCerts, readCert, type CertPaths } from './certs.ts';
import { spawnManaged, type ManagedChild } from './child.ts';
import { findOrInstallEnvoy } from './envoy-binary.ts';
import { renderEnvoyConfig } from './envoy-config.ts';
import { waitUntil } from '../lib/wait-until.ts';
import { freePort } from './ports.ts';
import { extprocNodeArgs } from './extproc-process.ts';

export const PROJECT_ROOT = path.resolve(import.meta.dirname, '../..');

/** The simulated providers of the demo topology: envoy cluster → wire format, key variable. */
export const DEMO_PROVIDERS: ReadonlyArray<{ cluster: string; format: SimFormat; keyEnv: string; portVar: string }> = [
  { cluster: 'openai-primary', format: 'openai', keyEnv: 'SIM_OPENAI_PRIMARY_KEY', portVar: 'OPENAI_PRIMARY_PORT' },
  { cluster: 'openai-backup', format: 'openai', keyEnv: 'SIM_OPENAI_BACKUP_KEY', portVar: 'OPENAI_BACKUP_PORT' },
  { cluster: 'anthropic', format: 'anthropic', keyEnv: 'SIM_ANTHROPIC_KEY', portVar: 'ANTHROPIC_PORT' },
  { cluster: 'gemini', format: 'gemini', keyEnv: 'SIM_GEMINI_KEY', portVar: 'GEMINI_PORT' },
];

export interface StackOptions {
  configFile?: string;
  envoyTemplate?: string;
  /** Where rendered config, certificates and logs go. */
  runDir?: string;
  /** 0 picks a free port. */
  httpPort?: number;
  httpsPort?: number;
  /** Demo key callers use; random when not given. */
  demoKey?: string;
  /** Start the simulated providers of the demo topology (and give them keys). */
  simulators?: boolean;
  /** Write each process's output to runDir/<name>.log instead of the terminal. */
  logToFiles?: boolean;
  envoyConcurrency?: number;
  /** Metrics port of the ext_proc service; a free one when not given. */
  metricsPort?: number;
  /** Extra environment for the ext_proc service. */
  env?: NodeJS.ProcessEnv;
}

export interface Stack {
  readonly httpUrl: string;
  readonly httpsUrl: string;
  readonly adminUrl: string;
  readonly certs: CertPaths;
  readonly demoKey: string;
  readonly sims: Readonly<Record<string, SimProvider>>;
  readonly runDir: string;
  readonly extprocPort: number;
  readonly metricsPort: number;
  extproc: ManagedChild;
  envoy: ManagedChild;
  /** Stops the ext_proc service (to test fail-closed behaviour). */
  stopExtproc(): Promise<void>;
  /** Starts it again on the same port. */
  startExtproc(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Envoy + the ext_proc service (a child process, as in production) + optionally the simulated
 * providers (in this process, so tests can inject faults), wired on loopback ports.
 */
export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const runDir = opts.runDir ?? path.join(PROJECT_ROOT, '.run');
  mkdirSync(runDir, { recursive: true });
  const certs = await ensureCerts(path.join(runDir, 'certs'));
  const envoyBin = findOrInstallEnvoy();
  const demoKey = opts.demoKey ?? `sk-demo-${randomBytes(18).toString('base64url')}`;
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env, GATEWAY_DEMO_KEY: demoKey };
  const sims: Record<string, SimProvider> = {};
  const started: Array<{ stop(): Promise<void> }> = [];
  const stopAll = async (): Promise<void> => {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
  };

  try {
    const values: Record<string, string | number> = {
      ADMIN_PORT: await freePort(),
      LISTEN_HOST: '127.0.0.1',
      PLAIN_LISTEN_HOST: '127.0.0.1',
      HTTPS_PORT: opts.httpsPort || (await freePort()),
      HTTP_PORT: opts.httpPort || (await freePort()),
      TLS_CERT: certs.cert,
      TLS_KEY: certs.key,
      CA_CERT: certs.caCert,
      EXTPROC_HOST: '127.0.0.1',
      EXTPROC_PORT: await freePort(),
    };
    const tls = readCert(certs);
    for (const p of DEMO_PROVIDERS) {
      if (opts.simulators === false) {
        values[p.portVar] = await freePort(); // nothing listens: the cluster is unreachable
        continue;
      }
      const key = env[p.keyEnv] ?? `sim-${p.cluster}-${randomBytes(12).toString('hex')}`;
      env[p.keyEnv] = key;
      const sim = await startSimProvider({ format: p.format, tls: { cert: tls.cert, key: tls.key }, apiKey: key });
      sims[p.cluster] = sim;
      started.push({ stop: () => sim.close() });
      values[p.portVar] = sim.port;
    }
    const metricsPort = opts.metricsPort || (await freePort());
    const extprocArgs = (): string[] => [
      ...extprocNodeArgs('source'),
      '--config',
      opts.configFile ?? path.join(PROJECT_ROOT, 'config/gateway.yaml'),
      '--listen',
      `127.0.0.1:${values.EXTPROC_PORT}`,
      '--metrics-listen',
      `127.0.0.1:${metricsPort}`,
    ];
    const logFile = (name: string): string | undefined => (opts.logToFiles ? path.join(runDir, `${name}.log`) : undefined);

    let extprocReady: () => void = () => undefined;
    let extprocSaid = '';
    const startExtprocChild = (): ManagedChild => {
      const lf = logFile('extproc');
      return spawnManaged('extproc', process.execPath, extprocArgs(), {
        env,
        ipc: true,
        ...(lf ? { logFile: lf } : {}),
        onStderrText: (t) => (extprocSaid = (extprocSaid + t).slice(-4000)),
        onStdoutLine: (line) => {
          if (!lf) process.stdout.write(`${line}\n`);
          extprocSaid = (extprocSaid + line).slice(-4000);
          if (line.includes('"gateway ready"')) extprocReady();
        },
      });
    };
    const launchExtproc = async (): Promise<ManagedChild> => {
      const ready = new Promise<void>((r) => (extprocReady = r));
      extprocSaid = '';
      const child = startExtprocChild();
      const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('ext_proc service: not ready after 20000 ms')), 20_000).unref());
      const died = child.exited.then((code) => {
        throw new Error(`ext_proc service exited with code ${String(code)} before it was ready${logFile('extproc') ? ` (see ${logFile('extproc')})` : ''}`);
      });
      await Promise.race([ready, timeout, died]);
      return child;
    };
    // The same window as for Envoy's ports below: retry on a fresh port if the picked one was taken.
    const launchFirstExtproc = async (attempt: number): Promise<ManagedChild> =>
      launchExtproc().catch(async (err: unknown) => {
        if (attempt >= 3 || !/EADDRINUSE|address already in use/i.test(extprocSaid)) throw err;
        values.EXTPROC_PORT = await freePort();
        return launchFirstExtproc(attempt + 1);
      });
    let extproc = await launchFirstExtproc(1);
    started.push({ stop: () => extproc.stop() });

    const rendered = path.join(runDir, 'envoy.rendered.yaml');
    const envoyArgs = ['-c', rendered, '--use-dynamic-base-id', '--log-level', process.env.ENVOY_LOG_LEVEL ?? 'warn'];
    if (opts.envoyConcurrency) envoyArgs.push('--concurrency', String(opts.envoyConcurrency));
    const envoyLog = logFile('envoy');
    // A port picked by freePort() is released until Envoy binds it; in that window an outgoing
    // connection or a simulator may take it. Envoy then exits with "address already in use":
    // pick fresh listener ports and start again, a bounded number of times.
    const startEnvoy = async (attempt: number): Promise<ManagedChild> => {
      renderEnvoyConfig(opts.envoyTemplate ?? path.join(PROJECT_ROOT, 'envoy/envoy.yaml'), rendered, values);
      let said = '';
      const child = spawnManaged('envoy', envoyBin, envoyArgs, {
        ...(envoyLog ? { logFile: envoyLog } : {}),
        onStderrText: (t) => (said = (said + t).slice(-4000)),
      });
      started.push({ stop: () => child.stop() });
      try {
        await waitUntil('envoy', async () => (await fetch(`http://127.0.0.1:${values.ADMIN_PORT}/ready`)).status === 200, 30_000, child.exited);
        return child;
      } catch (err) {
        await child.stop();
        if (attempt < 3 && /address already in use|cannot bind/i.test(said)) {
          values.ADMIN_PORT = await freePort();
          if (!opts.httpsPort) values.HTTPS_PORT = await freePort();
          if (!opts.httpPort) values.HTTP_PORT = await freePort();
          return startEnvoy(attempt + 1);
        }
        throw new Error(`${(err as Error).message}; envoy said: ${said.trim().slice(-1500) || '(nothing)'}`, { cause: err });
      }
    };
    const envoy = await startEnvoy(1);
    const adminUrl = `http://127.0.0.1:${values.ADMIN_PORT}`;

    const stack: Stack = {
      httpUrl: `http://127.0.0.1:${values.HTTP_PORT}`,
      httpsUrl: `https://localhost:${values.HTTPS_PORT}`,
      adminUrl,
      certs,
      demoKey,
      sims,
      runDir,
      extprocPort: Number(values.EXTPROC_PORT),
      metricsPort,
      get extproc() {
        return extproc;
      },
      set extproc(c: ManagedChild) {
        extproc = c;
      },
      envoy,
      stopExtproc: () => extproc.stop(),
      startExtproc: async () => {
        extproc = await launchExtproc();
      },
      stop: stopAll,
    };
    return stack;
  } catch (err) {
    await stopAll();
    throw err;
  }
}
