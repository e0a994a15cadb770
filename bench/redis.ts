import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../src/cli/ports.ts';
import { spawnChild, waitUntil, type BenchChild } from './procs.ts';

/** A redis-server the benchmark started for the policy path on Redis (its CPU is reported as `redis`). */
export interface BenchRedis {
  readonly url: string;
  readonly child: BenchChild;
  /** `INFO commandstats` now: calls per command (lower-case name, e.g. `evalsha`). */
  commandCalls(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

/**
 * Debian's `redis-server` on a free loopback port, as the tests start it
 * (test/support/redis-server.ts): no persistence (`--save ''`, no AOF), so the numbers are the
 * gateway's and the round trips', not the disk's. Stopped with the other bench children.
 */
export async function startBenchRedis(runDir: string): Promise<BenchRedis> {
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    throw new Error('redis-server not found: apt-get install -y redis-server (or run .ci/run); the Redis policy path needs it');
  }
  const port = await freePort();
  const child = spawnChild('redis', 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', runDir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning'], {
    logFile: path.join(runDir, 'redis.log'),
  });
  const url = `redis://127.0.0.1:${port}`;
  const admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => 100 });
  admin.on('error', () => undefined); // refused before the server listens, reset when it stops: waitUntil and commandCalls report
  void child.exited.then(() => admin.disconnect());
  await waitUntil(
    'redis-server',
    async () => {
      if (admin.status !== 'ready') await admin.connect().catch(() => undefined);
      return admin.status === 'ready' && (await admin.ping()) === 'PONG';
    },
    10_000,
    child.exited,
  );
  return {
    url,
    child,
    async commandCalls() {
      const out: Record<string, number> = {};
      const text = await admin.info('commandstats');
      // cmdstat_evalsha:calls=123,usec=…
      for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out[m[1]!] = Number(m[2]);
      return out;
    },
    async close() {
      admin.disconnect();
      await child.stop();
    },
  };
}
