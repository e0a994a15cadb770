import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { startSimProvider, type SimFormat, type SimProvider } from '../simulator/index.ts';
import { ensureCerts, readCert, type CertPaths } from './certs.ts';
import { describeExit, spawnManaged, type ManagedChild } from './child.ts';
import { findOrInstallEnvoy } from './envoy-binary.ts';
import { renderEnvoyConfig } from './envoy-config.ts';
import { waitUntil } from '../lib/wait-until.ts';
import { assertPortsFree, envoyBindFailurePort, freePort, PortInUseError, type ListenerName } from './ports.ts';
import { extprocNodeArgs } from './extproc-process.ts';
import { Supervisor, type BackoffPolicy, type SupervisedState } from './supervisor.ts';
import { parseListenError } from '../listen-error.ts';
import { parseSocketPath } from '../extproc/listen-address.ts';
import { claimSocketPath, SocketPathError } from '../extproc/unix-socket.ts';
import { configuredOtlpEndpoint, envoyOtlpTarget } from '../tracing/envoy-target.ts';

export const PROJECT_ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * The demo config's second key (team `support`, scoped to gpt-4o-mini and gemini-*): derived
 * from the demo key, so it is as well-known or as random as that one, never more.
 */
export function demoSupportKey(demoKey: string): string {
  return `${demoKey}-support`;
}

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
  /** Admin key API port of the ext_proc service (where the config enables it); a free one when not given. */
  adminApiPort?: number;
  /** The admin key; $GATEWAY_ADMIN_KEY, else random, when not given. */
  adminApiKey?: string;
  /** Envoy's admin port and the ext_proc's gRPC port; free ones when not given (or 0). */
  adminPort?: number;
  extprocPort?: number;
  /**
   * Absolute path of a Unix domain socket for Envoy → ext_proc gRPC instead of a loopback TCP
   * port (src/extproc/listen-address.ts: at most 107 bytes). Not with `extprocPort`.
   */
  extprocSocket?: string;
  /** Where the supervisor reports an ext_proc crash and restart; stderr by default. */
  log?: (line: string) => void;
  /**
   * Receives each line the ext_proc writes to stdout, and each line of Envoy's stdout access log
   * (unless logToFiles): the request log, one JSON line per request. stdout as is by default.
   */
  onExtprocLine?: (line: string) => void;
  /** How the ext_proc is restarted after a crash. */
  restartBackoff?: BackoffPolicy;
  /** Extra environment for the ext_proc service. */
  env?: NodeJS.ProcessEnv;
  /**
   * host:port of an OTLP/gRPC trace receiver: renders envoy.yaml's tracing section (Envoy's
   * OpenTelemetry tracer, README *Tracing*). Default: gateway.yaml's
   * `observability.tracing.otlpEndpoint` (read at start: Envoy's config is rendered once), else
   * $OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or $OTEL_EXPORTER_OTLP_ENDPOINT (a URL), the same order
   * the ext_proc uses; none: Envoy traces nothing. `false`: Envoy traces nothing whatever the
   * ext_proc does (tests of the ext_proc's tracing behind an Envoy without a tracer).
   */
  otlpEndpoint?: string | false;
}

export interface Stack {
  readonly httpUrl: string;
  readonly httpsUrl: string;
  readonly adminUrl: string;
  readonly certs: CertPaths;
  readonly demoKey: string;
  readonly sims: Readonly<Record<string, SimProvider>>;
  readonly runDir: string;
  /** The ext_proc's TCP port; 0 when it listens on `extprocSocket`. */
  readonly extprocPort: number;
  /** What Envoy's google_grpc `target_uri` names: `127.0.0.1:PORT` or `unix:/path.sock`. */
  readonly extprocTarget: string;
  readonly metricsPort: number;
  /** The admin key API (src/admin/server.ts; served where the config has `server.admin`) and its key. */
  readonly adminApiUrl: string;
  readonly adminApiKey: string;
  /** The ext_proc process now serving (a new one after each restart). */
  readonly extproc: ManagedChild;
  /** Whether the supervised ext_proc is serving, waiting to be restarted, or stopped on purpose. */
  readonly extprocState: SupervisedState;
  envoy: ManagedChild;
  /** Stops the ext_proc service on purpose, with no restart (to test fail-closed behaviour). */
  stopExtproc(): Promise<void>;
  /** Starts it again on the same port, supervised again. */
  startExtproc(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Envoy + the ext_proc service (a child process, as in production, restarted with back-off when
 * it dies) + optionally the simulated providers (in this process, so tests can inject faults),
 * wired on loopback ports. A port given in the options that is already taken fails at once with
 * PortInUseError, before anything starts; ports left out are picked free.
 */
export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  if (opts.extprocSocket && opts.extprocPort) throw new Error('extprocSocket and extprocPort exclude each other: the ext_proc listens on one of them');
  const socketPath = opts.extprocSocket ? parseSocketPath(opts.extprocSocket, '--extproc-socket') : undefined;
  const socket = socketPath ? `unix:${socketPath}` : undefined;
  if (socketPath) {
    // Checked here too, before anything starts, so the error names --extproc-socket (the ext_proc
    // would name server.listen) and a removed stale file is said (the child removes it silently).
    const claimed = await claimSocketPath(socketPath).catch((err: unknown) => {
      throw err instanceof SocketPathError ? new Error(`cannot listen on the ext_proc socket ${socketPath}: ${err.message}; choose another path with --extproc-socket PATH`) : err;
    });
    if (claimed === 'removed-stale') (opts.log ?? ((line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`)))(`removed a stale ext_proc socket file at ${socketPath} (nothing listened on it)`);
  }
  const fixedPorts: Record<ListenerName, number | undefined> = {
    http: opts.httpPort,
    https: opts.httpsPort,
    admin: opts.adminPort,
    extproc: opts.extprocPort,
    metrics: opts.metricsPort,
    adminApi: opts.adminApiPort,
  };
  await assertPortsFree(
    Object.entries(fixedPorts)
      .filter((e): e is [ListenerName, number] => !!e[1])
      .map(([listener, port]) => ({ listener, host: '127.0.0.1', port })),
  );
  const runDir = opts.runDir ?? path.join(PROJECT_ROOT, '.run');
  mkdirSync(runDir, { recursive: true });
  const certs = await ensureCerts(path.join(runDir, 'certs'));
  const envoyBin = findOrInstallEnvoy();
  const demoKey = opts.demoKey ?? `sk-demo-${randomBytes(18).toString('base64url')}`;
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env, GATEWAY_DEMO_KEY: demoKey, GATEWAY_DEMO_SUPPORT_KEY: demoSupportKey(demoKey) };
  // The demo config's admin key (server.admin.fromEnv) and where admin-created keys are kept.
  const adminApiKey = opts.adminApiKey ?? (env.GATEWAY_ADMIN_KEY || `sk-llmx-admin-${randomBytes(24).toString('base64url')}`);
  env.GATEWAY_ADMIN_KEY = adminApiKey;
  env.GATEWAY_STATE_FILE ||= path.join(runDir, 'state', 'state.sqlite');
  const sims: Record<string, SimProvider> = {};
  const started: Array<{ stop(): Promise<void> }> = [];
  let supervisor: Supervisor | undefined;
  const stopAll = async (): Promise<void> => {
    supervisor?.stopRestarting();
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
  };

  try {
    const values: Record<string, string | number> = {
      ADMIN_PORT: opts.adminPort || (await freePort()),
      LISTEN_HOST: '127.0.0.1',
      PLAIN_LISTEN_HOST: '127.0.0.1',
      HTTPS_PORT: opts.httpsPort || (await freePort()),
      HTTP_PORT: opts.httpPort || (await freePort()),
      TLS_CERT: certs.cert,
      TLS_KEY: certs.key,
      CA_CERT: certs.caCert,
      EXTPROC_HOST: '127.0.0.1',
      EXTPROC_PORT: socket ? 0 : opts.extprocPort || (await freePort()),
    };
    // The whole target in one value (envoy.yaml's target_uri); EXTPROC_HOST/PORT stay for templates written before it.
    const extprocListen = (): string => socket ?? `127.0.0.1:${values.EXTPROC_PORT}`;
    const configFile = opts.configFile ?? path.join(PROJECT_ROOT, 'config/gateway.yaml');
    const otlp = opts.otlpEndpoint === false ? undefined : envoyOtlpTarget(opts.otlpEndpoint ?? configuredOtlpEndpoint(configFile), env);
    if (otlp) Object.assign(values, { TRACING: '1', OTLP_HOST: otlp.host, OTLP_PORT: otlp.port, OTEL_ENVOY_SERVICE_NAME: 'llm-gateway-envoy', TRACE_SAMPLE_PERCENT: 100 });
    // Where the ext_proc sends active probes (routing.health.probes): this Envoy's plaintext listener.
    // (If Envoy has to move to another port at start, the first ext_proc keeps the old one; a restart takes the new.)
    env.GATEWAY_PROBE_URL ||= `http://127.0.0.1:${values.HTTP_PORT}`;
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
    let metricsPort = opts.metricsPort || (await freePort());
    const adminApiPort = opts.adminApiPort || (await freePort());
    const extprocArgs = (): string[] => [
      ...extprocNodeArgs('source'),
      '--config',
      configFile,
      '--listen',
      extprocListen(),
      '--metrics-listen',
      `127.0.0.1:${metricsPort}`,
      '--admin-listen',
      `127.0.0.1:${adminApiPort}`,
    ];
    const logFile = (name: string): string | undefined => (opts.logToFiles ? path.join(runDir, `${name}.log`) : undefined);

    let extprocReady: () => void = () => undefined;
    let extprocSaid = '';
    let extprocStderr = '';
    const startExtprocChild = (): ManagedChild => {
      const lf = logFile('extproc');
      return spawnManaged('extproc', process.execPath, extprocArgs(), {
        env,
        ipc: true,
        ...(lf ? { logFile: lf } : {}),
        onStderrText: (t) => {
          extprocSaid = (extprocSaid + t).slice(-4000);
          extprocStderr = (extprocStderr + t).slice(-4000);
        },
        onStdoutLine: (line) => {
          if (!lf) (opts.onExtprocLine ?? ((l: string) => process.stdout.write(`${l}\n`)))(line);
          extprocSaid = (extprocSaid + line).slice(-4000);
          if (line.includes('"gateway ready"')) extprocReady();
        },
      });
    };
    const launchExtproc = async (): Promise<ManagedChild> => {
      const ready = new Promise<void>((r) => (extprocReady = r));
      extprocSaid = '';
      extprocStderr = '';
      const child = startExtprocChild();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('ext_proc service: not ready after 20000 ms')), 20_000)));
      const died = child.exitStatus.then((st) => {
        // Its last stderr line says why (a config error, a port in use), without a stack trace.
        const why = extprocStderr.split('\n').filter((l) => /^\S/.test(l) && !/^Node\.js v/.test(l)).at(-1);
        throw new Error(`ext_proc service ${describeExit(st)} before it was ready${why ? `: ${why}` : ''}${logFile('extproc') ? ` (see ${logFile('extproc')})` : ''}`);
      });
      try {
        await Promise.race([ready, timeout, died]);
        return child;
      } catch (err) {
        await child.stop();
        throw err;
      } finally {
        clearTimeout(timer);
      }
    };
    // The same window as for Envoy's ports below: retry on a fresh port if a picked one was
    // taken; a port the caller chose is theirs to change.
    const launchFirstExtproc = async (attempt: number): Promise<ManagedChild> =>
      launchExtproc().catch(async (err: unknown) => {
        const failed = parseListenError(extprocSaid);
        // A socket path is the caller's choice, not a port to pick again: its error says what holds it.
        if (failed?.listener === 'extproc' && socket && err instanceof Error) {
          throw new Error(err.message.replace('change server.listen in the config or --listen', 'choose another path with --extproc-socket PATH'));
        }
        if (!failed) throw err;
        const port = failed.listener === 'metrics' ? metricsPort : Number(values.EXTPROC_PORT);
        if (fixedPorts[failed.listener] || attempt >= 3) throw new PortInUseError(failed.listener, '127.0.0.1', port);
        if (failed.listener === 'metrics') metricsPort = await freePort();
        else values.EXTPROC_PORT = await freePort();
        return launchFirstExtproc(attempt + 1);
      });
    const extproc = new Supervisor('ext_proc', launchExtproc, opts.log ?? ((line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`)), opts.restartBackoff);
    supervisor = extproc;
    started.push({ stop: () => extproc.stop() });
    await extproc.start(() => launchFirstExtproc(1));

    values.EXTPROC_TARGET = extprocListen();
    if (socket) {
      delete values.EXTPROC_HOST;
      delete values.EXTPROC_PORT;
    }
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
        // Envoy's stdout holds only its stdout access log: request lines for what it refused while
        // the ext_proc was unreachable (envoy.yaml). They join the ext_proc's request log stream.
        ...(envoyLog ? {} : { onStdoutLine: (line: string) => (opts.onExtprocLine ?? ((l: string) => process.stdout.write(`${l}\n`)))(line) }),
        onStderrText: (t) => (said = (said + t).slice(-4000)),
      });
      started.push({ stop: () => child.stop() });
      try {
        await waitUntil('envoy', async () => (await fetch(`http://127.0.0.1:${values.ADMIN_PORT}/ready`)).status === 200, 30_000, child.exited);
        return child;
      } catch (err) {
        await child.stop();
        if (/address already in use|cannot bind/i.test(said)) {
          const port = envoyBindFailurePort(said);
          const byPort: Array<[ListenerName, string]> = [['http', 'HTTP_PORT'], ['https', 'HTTPS_PORT'], ['admin', 'ADMIN_PORT']];
          const listener = byPort.find(([, v]) => Number(values[v]) === port)?.[0];
          if (attempt < 3 && !(listener && fixedPorts[listener])) {
            if (!opts.adminPort) values.ADMIN_PORT = await freePort();
            if (!opts.httpsPort) values.HTTPS_PORT = await freePort();
            if (!opts.httpPort) values.HTTP_PORT = await freePort();
            return startEnvoy(attempt + 1);
          }
          if (listener && port) throw new PortInUseError(listener, '127.0.0.1', port);
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
      extprocPort: socket ? 0 : Number(values.EXTPROC_PORT),
      extprocTarget: String(values.EXTPROC_TARGET),
      metricsPort,
      adminApiUrl: `http://127.0.0.1:${adminApiPort}`,
      adminApiKey,
      get extproc() {
        return extproc.current!;
      },
      get extprocState() {
        return extproc.state;
      },
      envoy,
      stopExtproc: () => extproc.stop(),
      startExtproc: () => extproc.start(),
      stop: stopAll,
    };
    return stack;
  } catch (err) {
    await stopAll();
    throw err;
  }
}
