import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { waitUntil } from '../../src/lib/wait-until.ts';

/** `npm start` (src/cli/start.ts) run as a child process, as a user runs it, for e2e tests. */
export const ROOT = path.resolve(import.meta.dirname, '../..');
const START = path.join(ROOT, 'src/cli/start.ts');

export interface Cli {
  proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const groups = new Set<number>();
// Whatever happens to the test process, the CLIs it started (each its own process group) go too.
process.once('exit', () => {
  for (const pgid of groups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** Runs the CLI in its own process group, so that Ctrl-C can be sent to the group as a terminal does. */
export function runCli(args: string[], env: NodeJS.ProcessEnv): Cli {
  const proc = spawn(process.execPath, ['--import', 'tsx', START, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  groups.add(proc.pid!);
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    proc.once('exit', (code, signal) => {
      groups.delete(proc.pid!);
      r({ code, signal });
    }),
  );
  return { proc, stdout: () => out, stderr: () => err, exit };
}

/** What the banner says once `npm start` is up (a field is '' when the banner has no such line). */
export interface Banner {
  httpUrl: string;
  metricsUrl: string;
  adminApiUrl: string;
  adminKey: string;
  demoKey: string;
  teamKey: string;
}

/** Starts the CLI and waits for its banner (up to 90 s: a first run may install Envoy). */
export async function startCli(args: string[], env: NodeJS.ProcessEnv): Promise<Cli & Banner> {
  const cli = runCli(args, env);
  await waitUntil('npm start', async () => cli.stderr().includes('Ctrl-C stops everything.'), 90_000, cli.exit);
  const said = cli.stderr();
  const grab = (re: RegExp): string => re.exec(said)?.[1] ?? '';
  return Object.assign(cli, {
    httpUrl: grab(/plaintext : (http:\/\/127\.0\.0\.1:\d+)\/v1/),
    metricsUrl: grab(/metrics {3}: (http:\/\/127\.0\.0\.1:\d+)\/metrics/),
    adminApiUrl: grab(/admin API : (http:\/\/127\.0\.0\.1:\d+)\/admin\/keys/),
    adminKey: grab(/\(admin key: (\S+)\)/),
    demoKey: grab(/demo key {2}: (\S+)/),
    teamKey: grab(/team key {2}: (\S+)/),
  });
}

/** Ctrl-C: SIGINT to the whole process group (npm start, Envoy and the ext_proc alike). */
export async function stopCli(cli: Cli): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (cli.proc.exitCode === null && cli.proc.signalCode === null) process.kill(-cli.proc.pid!, 'SIGINT');
  return cli.exit;
}
