import { parseArgs } from 'node:util';
import type { ListenerName } from './ports.ts';
import { ListenAddressError, parseSocketPath } from '../extproc/listen-address.ts';

/**
 * The demo key of `npm start` on its embedded defaults (the demo config and the simulated
 * providers, listeners on loopback only): fixed, so the README's client snippet runs as copied.
 * It only reaches simulators; with your own files the key is random unless $GATEWAY_DEMO_KEY.
 */
export const DEFAULT_DEMO_KEY = 'sk-llmx-demo';

export type LogFormat = 'auto' | 'pretty' | 'json';

/** What `npm start -- …` asked for. Ports are 0 for "pick a free one". */
export interface StartOptions {
  help: boolean;
  config?: string;
  envoyConfig?: string;
  httpPort: number;
  httpsPort: number;
  metricsPort: number;
  /** The admin key API of the ext_proc service (src/admin/server.ts). */
  adminApiPort: number;
  adminPort: number;
  extprocPort: number;
  /** Absolute path of a Unix socket for Envoy → ext_proc instead of a TCP port. */
  extprocSocket?: string;
  simulators: boolean;
  runDir?: string;
  logFormat: LogFormat;
}

/** A command line the CLI refuses: one line for the user, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The flag that sets each listener's port (named in the one-line "port in use" error). */
export const PORT_FLAGS: Readonly<Record<ListenerName, string>> = {
  http: '--http-port',
  https: '--https-port',
  admin: '--admin-port',
  extproc: '--extproc-port',
  metrics: '--metrics-port',
  adminApi: '--admin-api-port',
};

export const HELP = `Usage: npm start [-- OPTIONS]

Starts Envoy, the ext_proc service and (by default) four simulated providers on loopback.

Options:
  --config FILE         gateway config (default: config/gateway.yaml)
  --envoy-config FILE   Envoy config template with {{PLACEHOLDERS}} (default: envoy/envoy.yaml)
  --http-port N         plaintext listener (default: 8080)
  --https-port N        TLS 1.3 listener (default: 8443)
  --metrics-port N      /metrics and /healthz of the ext_proc service (default: 9464)
  --admin-api-port N    the gateway's admin key API, /admin/keys (default: 9465)
  --admin-port N        Envoy's admin interface (default: a free port)
  --extproc-port N      the ext_proc gRPC port Envoy calls (default: a free port)
                        (a port of 0 means: pick a free one)
  --extproc-socket PATH Envoy calls the ext_proc on this Unix socket instead of a TCP
                        port: an absolute path of at most 107 bytes, made mode 0660
  --no-simulators       do not start the simulated providers
  --run-dir DIR         rendered config, certificates, logs (default: .run)
  --log-format F        request log on stdout: auto (one readable line in a terminal,
                        JSON when piped), pretty, json (default: auto)
  -h, --help            print this and exit

Environment:
  GATEWAY_DEMO_KEY      the demo caller key (default with the embedded demo: ${DEFAULT_DEMO_KEY};
                        random when --config, --envoy-config or --no-simulators is given;
                        the demo config's support-team key is this key + "-support")
  GATEWAY_ADMIN_KEY     the admin key of the admin key API (default: random, printed at start)
  GATEWAY_STATE_FILE    SQLite file of the embedded state (default: <run dir>/state/state.sqlite;
                        REDIS_URL set: Redis instead)
  ENVOY_BIN             an Envoy 1.40.0 binary to use instead of finding or installing one
  LOG_LEVEL             the ext_proc's log level (default: info)
`;

function port(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535) throw new UsageError(`${flag} must be a port number from 0 to 65535, got "${text}"`);
  return n;
}

/** Parses `npm start` arguments; throws UsageError (one line) for anything it does not know. */
export function parseStartOptions(args: readonly string[]): StartOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        config: { type: 'string' },
        'envoy-config': { type: 'string' },
        'http-port': { type: 'string' },
        'https-port': { type: 'string' },
        'metrics-port': { type: 'string' },
        'admin-port': { type: 'string' },
        'admin-api-port': { type: 'string' },
        'extproc-port': { type: 'string' },
        'extproc-socket': { type: 'string' },
        'no-simulators': { type: 'boolean' },
        'run-dir': { type: 'string' },
        'log-format': { type: 'string' },
      },
    }));
  } catch (err) {
    // node:util's messages are one line already, but end with advice for code ("To specify a
    // positional argument…"); keep the first sentence.
    const msg = err instanceof Error ? err.message.split('. ')[0]!.replace(/\.$/, '') : String(err);
    throw new UsageError(msg);
  }
  const str = (k: string): string | undefined => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const logFormat = str('log-format') ?? 'auto';
  if (logFormat !== 'auto' && logFormat !== 'pretty' && logFormat !== 'json') throw new UsageError(`--log-format must be auto, pretty or json, got "${logFormat}"`);
  const socket = str('extproc-socket');
  if (socket !== undefined) {
    if (str('extproc-port') !== undefined) throw new UsageError('--extproc-socket and --extproc-port exclude each other: the ext_proc listens on one of them');
    try {
      parseSocketPath(socket, '--extproc-socket');
    } catch (err) {
      if (err instanceof ListenAddressError) throw new UsageError(err.message);
      throw err;
    }
  }
  return {
    help: values.help === true,
    ...(str('config') ? { config: str('config')! } : {}),
    ...(str('envoy-config') ? { envoyConfig: str('envoy-config')! } : {}),
    httpPort: port('--http-port', str('http-port'), 8080),
    httpsPort: port('--https-port', str('https-port'), 8443),
    metricsPort: port('--metrics-port', str('metrics-port'), 9464),
    adminPort: port('--admin-port', str('admin-port'), 0),
    adminApiPort: port('--admin-api-port', str('admin-api-port'), 9465),
    extprocPort: port('--extproc-port', str('extproc-port'), 0),
    ...(socket !== undefined ? { extprocSocket: socket } : {}),
    simulators: values['no-simulators'] !== true,
    ...(str('run-dir') ? { runDir: str('run-dir')! } : {}),
    logFormat,
  };
}

/**
 * The demo key: $GATEWAY_DEMO_KEY when set; else the fixed DEFAULT_DEMO_KEY on the embedded
 * demo (simulators only); else undefined (the stack makes a random one), so a well-known key
 * never guards your own providers.
 */
export function chooseDemoKey(o: StartOptions, env: NodeJS.ProcessEnv): string | undefined {
  if (env.GATEWAY_DEMO_KEY) return env.GATEWAY_DEMO_KEY;
  return !o.config && !o.envoyConfig && o.simulators ? DEFAULT_DEMO_KEY : undefined;
}
