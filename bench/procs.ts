import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

/** A process the benchmark started; its output goes straight to a file, never through us. */
export interface BenchChild {
  readonly name: string;
  readonly pid: number;
  readonly proc: ChildProcess;
  readonly exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<BenchChild>();

export interface SpawnOpts {
  env?: NodeJS.ProcessEnv;
  logFile: string;
  /** Keep stdout as a pipe (for a child that announces its ports), stderr still to the log. */
  pipeStdout?: boolean;
}

export function spawnChild(name: string, cmd: string, args: string[], opts: SpawnOpts): BenchChild {
  const fd = openSync(opts.logFile, 'a');
  const proc = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['ignore', opts.pipeStdout ? 'pipe' : fd, fd] });
  closeSync(fd);
  if (proc.pid === undefined) throw new Error(`${name}: could not start ${cmd}`);
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const child: BenchChild = {
    name,
    pid: proc.pid,
    proc,
    exited,
    async stop(graceMs = 5000): Promise<void> {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(t);
      }
      live.delete(child);
    },
  };
  live.add(child);
  void exited.then(() => live.delete(child));
  return child;
}

/** Stops every child still running, newest first. */
export async function stopAllChildren(): Promise<void> {
  const all = [...live].reverse();
  await Promise.all(all.map((c) => c.stop().catch(() => undefined)));
}

let installed = false;

/**
 * Ctrl-C / SIGTERM stop every child before exiting; a synchronous exit hook SIGKILLs whatever
 * is left (an uncaught error, process.exit elsewhere).
 */
export function installCleanup(): void {
  if (installed) return;
  installed = true;
  let stopping = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\nbench: ${sig}, stopping the processes it started …\n`);
    void stopAllChildren().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => {
    for (const c of live) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
  });
}

export { waitUntil } from '../src/lib/wait-until.ts';
