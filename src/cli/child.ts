import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';

export interface ManagedChild {
  readonly name: string;
  readonly process: ChildProcess;
  /** Resolves when the process has exited: its exit code, null when a signal ended it. */
  readonly exited: Promise<number | null>;
  /** Resolves when the process has exited: how (exit code, or the signal that ended it). */
  readonly exitStatus: Promise<ExitStatus>;
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** "exit code 2", "killed by SIGKILL": for one-line reports. */
export function describeExit(s: ExitStatus): string {
  return s.signal ? `killed by ${s.signal}` : `exit code ${String(s.code)}`;
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  /** Open an IPC channel; a Node child can then exit when its parent goes away. */
  ipc?: boolean;
  /** Append stdout/stderr to this file instead of inheriting the terminal. */
  logFile?: string;
  onStdoutLine?: (line: string) => void;
  /** Sees stderr as it comes (e.g. to report why a process died before it was ready). */
  onStderrText?: (text: string) => void;
}

const live = new Set<ChildProcess>();
// If the parent exits without stopping its children (an uncaught error, process.exit), take
// them along: a gateway half left running would hold the ports.
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** Starts a child whose lifetime the caller owns: stop() sends a signal, then SIGKILL after grace. */
export function spawnManaged(name: string, cmd: string, args: string[], opts: SpawnOptions = {}): ManagedChild {
  const log = opts.logFile ? createWriteStream(opts.logFile, { flags: 'a' }) : undefined;
  const stdio: Array<'ignore' | 'pipe' | 'inherit' | 'ipc'> = ['ignore', log || opts.onStdoutLine ? 'pipe' : 'inherit', log || opts.onStderrText ? 'pipe' : 'inherit'];
  if (opts.ipc) stdio.push('ipc');
  const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio });
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (child.stdout) {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      log?.write(d);
      if (!opts.onStdoutLine) return;
      buf += d.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) !== -1) {
        opts.onStdoutLine(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
  }
  child.stderr?.on('data', (d: Buffer) => {
    if (log) log.write(d);
    else process.stderr.write(d);
    opts.onStderrText?.(d.toString('utf8'));
  });
  const exitStatus = new Promise<ExitStatus>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const exited = exitStatus.then((s) => s.code);
  void exited.then(() => log?.end());
  return {
    name,
    process: child,
    exited,
    exitStatus,
    async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
