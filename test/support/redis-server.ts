import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/cli/ports.ts';

/** A redis-server child on a free loopback port, in its own temp dir. */
export interface TestRedis {
  readonly port: number;
  readonly url: string;
  /** SIGKILL (a crash: no save, clients see resets); resolves when the process is gone. */
  kill(): Promise<void>;
  /** SIGSTOP: the server stops answering but keeps its connections (a stalled Redis). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** Starts it again on the same port and dir (after kill/stop). */
  restart(): Promise<void>;
  /** Stops it and removes its dir. */
  stop(): Promise<void>;
}

/**
 * Debian's `redis-server` (`apt-get install redis-server`; `.ci/run` installs it). Without
 * `persist`, nothing is written to disk; with it, an append-only file (fsync every write) in
 * the temp dir, so a restart keeps what was written. Fails naming the install command when the
 * binary is missing.
 */
export async function startRedis(opts: { persist?: boolean } = {}): Promise<TestRedis> {
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    throw new Error('redis-server not found: apt-get install -y redis-server (or run .ci/run)');
  }
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'llmx-redis-'));
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
    ...(opts.persist ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
    '--daemonize', 'no', '--loglevel', 'warning',
  ];
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    const c = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = c;
    // Should the test process end without stop() (a crash, a failed before hook), take it along.
    const orphanGuard = (): void => void c.kill('SIGKILL');
    process.once('exit', orphanGuard);
    c.once('exit', () => process.off('exit', orphanGuard));
    let stderr = '';
    c.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + 10_000;
    while (!(await answersPing(port))) {
      if (c.exitCode !== null) throw new Error(`redis-server exited with ${c.exitCode}: ${stderr.slice(0, 500)}`);
      if (Date.now() > deadline) throw new Error('redis-server did not answer PING within 10 s');
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const end = async (signal: NodeJS.Signals): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill(signal);
    await gone;
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill: () => end('SIGKILL'),
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    restart: start,
    async stop() {
      child?.kill('SIGCONT');
      await end('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One PING over a raw socket: true on +PONG. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.once('error', () => done(false));
    s.once('connect', () => s.write('PING\r\n'));
    s.once('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}
