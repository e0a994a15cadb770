import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { renderEnvoyConfig } from '../../src/cli/envoy-config.ts';
import { freePort } from '../../src/cli/ports.ts';
import { spawnChild, waitUntil, type BenchChild } from '../procs.ts';

/** Where the anchor's ext_proc binary is looked for: `$AIGW_EXTPROC`, else /tmp/aigw/extproc (bench/anchors/build-aigw.sh's default). */
export function aigwExtprocPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.AIGW_EXTPROC || '/tmp/aigw/extproc';
}

/** The one line the benchmark prints when the anchor's binary is missing: what to do about it. */
export function aigwMissingLine(bin: string): string {
  return (
    `Envoy AI Gateway left out: no ext_proc binary at ${bin}. It is not on npm: fetch github.com/envoyproxy/ai-gateway ` +
    `at tag v1.1.0 into a directory, then AIGW_SRC=<that dir> bench/anchors/build-aigw.sh (needs Go ≥ 1.26; set AIGW_EXTPROC to use another path)`
  );
}

/**
 * Why the anchor's binary cannot be AIGW's ext_proc, as the one line the benchmark prints, or undefined when it
 * may be: missing (aigwMissingLine), not a file, or no `internal/version.version` stamp (build-aigw.sh always
 * stamps it; e.g. /bin/true has none).
 */
export function aigwUnusableLine(bin: string): string | undefined {
  if (!existsSync(bin)) return aigwMissingLine(bin);
  if (!statSync(bin).isFile()) return `Envoy AI Gateway left out: ${bin} is not a file (set AIGW_EXTPROC to AIGW's ext_proc binary)`;
  if (aigwStampOf(bin) === undefined) return `Envoy AI Gateway left out: ${bin} has no AIGW version stamp (internal/version.version), so it is not an ext_proc built by bench/anchors/build-aigw.sh`;
  return undefined;
}

/**
 * AIGW's version string from its `-X …/internal/version.version=<git describe --long>` stamp, parsed as its
 * internal/version does: `v1.1.0-0-gc217da8` → `v1.1.0`; commits ahead → `c217da8 (v1.1.0, +3)`; no stamp → `dev`.
 * The ext_proc refuses a filter config whose `version` differs from this.
 */
export function parseAigwVersion(stamp: string | undefined): string {
  const parts = (stamp ?? '').split('-');
  if (parts.length < 3) return 'dev';
  const commits = Number(parts[parts.length - 2]);
  if (!Number.isInteger(commits)) return 'dev';
  const tag = parts.slice(0, -2).join('-');
  const sha = parts[parts.length - 1]!.slice(1);
  return commits === 0 ? tag : `${sha} (${tag}, +${commits})`;
}

/** The version stamp linked into the binary (Go keeps the -ldflags in its build info), or undefined. */
export function aigwStampOf(bin: string): string | undefined {
  const buf = readFileSync(bin);
  const key = 'internal/version.version=';
  const at = buf.indexOf(key);
  if (at < 0) return undefined;
  return /^[A-Za-z0-9._+-]+/.exec(buf.subarray(at + key.length, at + key.length + 200).toString('latin1'))?.[0];
}

export interface AigwAnchor {
  /** Plaintext listener, e.g. http://127.0.0.1:PORT. */
  readonly url: string;
  readonly adminUrl: string;
  /** What its ext_proc reports as its version (`v1.1.0`). */
  readonly version: string;
  readonly extproc: BenchChild;
  readonly envoy: BenchChild;
  stop(): Promise<void>;
}

export interface AigwOptions {
  runDir: string;
  envoyBin: string;
  /** The AIGW ext_proc binary (aigwExtprocPath()). */
  extprocBin: string;
  envoyConcurrency: number;
  /** Our CA (the simulators' certificates), PEM file. */
  caCert: string;
  /** The OpenAI simulator's TLS + HTTP/2 port and its API key (what AIGW sends upstream). */
  openai: { readonly tlsPort: number; readonly key: string };
}

const HERE = import.meta.dirname;
/** sun_path holds 108 bytes with the NUL. */
const SUN_PATH_MAX = 107;

/**
 * Starts Envoy AI Gateway's data plane as its controller wires it (bench/anchors/aigw-envoy.yaml): AIGW's Go
 * ext_proc on a Unix socket (DISABLE_PPROF=1, log level warn, admin/health on a free port), then our Envoy
 * binary with the rendered config. Both are bench children (stopped by stop(), or by the bench's cleanup);
 * the ext_proc gets SIGKILL 3 s after SIGTERM (it can take over 10 s to exit). Throws with the log's path when
 * either does not come up.
 */
export async function startAigw(o: AigwOptions): Promise<AigwAnchor> {
  if (!existsSync(o.extprocBin) || !statSync(o.extprocBin).isFile()) throw new Error(aigwMissingLine(o.extprocBin));
  const stamp = aigwStampOf(o.extprocBin);
  const version = parseAigwVersion(stamp);

  // The socket in the run dir when its path fits sun_path, else in a short temp dir (removed at stop).
  let sockDir = o.runDir;
  let tmpSockDir: string | undefined;
  if (path.join(o.runDir, 'aigw-extproc.sock').length > SUN_PATH_MAX) sockDir = tmpSockDir = mkdtempSync(path.join(tmpdir(), 'aigw-'));
  const socket = path.join(sockDir, 'aigw-extproc.sock');
  rmSync(socket, { force: true });

  const extprocConfig = path.join(o.runDir, 'aigw-extproc.rendered.yaml');
  renderEnvoyConfig(path.join(HERE, 'aigw-extproc.yaml'), extprocConfig, { AIGW_VERSION: JSON.stringify(version), OPENAI_KEY: o.openai.key });
  const extprocAdminPort = await freePort();
  const started: BenchChild[] = [];
  const stop = async (): Promise<void> => {
    for (const c of started.reverse()) await c.stop(c.name === 'extproc-aigw' ? 3000 : 5000).catch(() => undefined);
    rmSync(socket, { force: true });
    if (tmpSockDir) rmSync(tmpSockDir, { recursive: true, force: true });
  };
  try {
    const extproc = spawnChild(
      'extproc-aigw',
      o.extprocBin,
      ['-configPath', extprocConfig, '-extProcAddr', `unix://${socket}`, '-adminPort', String(extprocAdminPort), '-logLevel', 'warn'],
      { env: { ...process.env, DISABLE_PPROF: '1' }, logFile: path.join(o.runDir, 'extproc-aigw.log') },
    );
    started.push(extproc);
    const health = `http://127.0.0.1:${extprocAdminPort}/health`;
    await waitUntil(
      `Envoy AI Gateway ext_proc (log: ${path.join(o.runDir, 'extproc-aigw.log')})`,
      async () => existsSync(socket) && (await fetch(health)).ok,
      30_000,
      extproc.exited,
    );

    const values = { ADMIN_PORT: await freePort(), HTTP_PORT: await freePort(), EXTPROC_SOCKET: socket, CA_CERT: o.caCert, OPENAI_PORT: o.openai.tlsPort };
    const envoyConfig = path.join(o.runDir, 'envoy-aigw.rendered.yaml');
    renderEnvoyConfig(path.join(HERE, 'aigw-envoy.yaml'), envoyConfig, values);
    const envoy = spawnChild('envoy-aigw', o.envoyBin, ['-c', envoyConfig, '--use-dynamic-base-id', '--concurrency', String(o.envoyConcurrency), '--log-level', 'warn'], {
      logFile: path.join(o.runDir, 'envoy-aigw.log'),
    });
    started.push(envoy);
    const adminUrl = `http://127.0.0.1:${values.ADMIN_PORT}`;
    await waitUntil(`Envoy AI Gateway's envoy (log: ${path.join(o.runDir, 'envoy-aigw.log')})`, async () => (await fetch(`${adminUrl}/ready`)).status === 200, 30_000, envoy.exited);
    return { url: `http://127.0.0.1:${values.HTTP_PORT}`, adminUrl, version, extproc, envoy, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
