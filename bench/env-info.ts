import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './topology.ts';

export interface EnvInfo {
  cpuModel: string;
  cores: number;
  memGB: number;
  kernel: string;
  node: string;
  envoy: string;
  autocannon: string;
  undici: string;
  commit: string;
  dirty: boolean;
  loadavg: number[];
}

function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 20_000 }).trim();
  } catch {
    return '';
  }
}

function pkgVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function envInfo(envoyBin: string): EnvInfo {
  const cpus = os.cpus();
  const envoyOut = sh(envoyBin, ['--version']);
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memGB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    envoy: /\/(\d+\.\d+\.\d+)\//.exec(envoyOut)?.[1] ?? (envoyOut || 'unknown'),
    autocannon: pkgVersion('autocannon'),
    undici: pkgVersion('undici'),
    commit: sh('git', ['rev-parse', 'HEAD']) || 'unknown',
    dirty: sh('git', ['status', '--porcelain', '--untracked-files=no']) !== '',
    loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}
