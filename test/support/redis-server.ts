import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../src/cli/ports.ts';

const run = promisify(execFile);

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

/** `n` distinct free loopback ports. */
async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

/** One redis-server (or sentinel) child: started, answering PING; stop() ends it (SIGTERM, then SIGKILL after 5 s). */
interface ServerProcess {
  readonly port: number;
  stop(): Promise<void>;
}

async function spawnServer(args: string[], port: number, label: string): Promise<ServerProcess> {
  const c = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  // Should the test process end without stop(), take the child along.
  const orphanGuard = (): void => void c.kill('SIGKILL');
  process.once('exit', orphanGuard);
  c.once('exit', () => process.off('exit', orphanGuard));
  let stderr = '';
  c.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const stop = async (): Promise<void> => {
    if (c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM');
    const hard = setTimeout(() => c.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(hard);
  };
  const deadline = Date.now() + 10_000;
  while (!(await answersPing(port))) {
    if (c.exitCode !== null) throw new Error(`${label} exited with ${c.exitCode}: ${stderr.slice(0, 500)}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${label} did not answer PING within 10 s`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return { port, stop };
}

/** `redis-cli -p <port> <args…>`'s output, trimmed (raw replies, one element a line). */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 10_000 });
  return stdout.trim();
}

async function waitFor(what: string, ok: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function requireRedisServer(): void {
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    throw new Error('redis-server not found: apt-get install -y redis-server (or run .ci/run)');
  }
}

/** A Redis Cluster of masters only, on free loopback ports (each with its own bus port). */
export interface TestRedisCluster {
  /** The masters' client ports. */
  readonly ports: readonly number[];
  /** `redis+cluster://127.0.0.1:<p1>,…` */
  readonly url: string;
  /** Stops every node and removes the temp dir. */
  stop(): Promise<void>;
}

/**
 * `masters` redis-servers with `--cluster-enabled yes`, joined by `redis-cli --cluster create
 * … --cluster-replicas 0`; resolves once every node reports `cluster_state:ok`. Everything
 * started is stopped again if a step fails.
 */
export async function startRedisCluster(masters = 3): Promise<TestRedisCluster> {
  requireRedisServer();
  const dir = mkdtempSync(path.join(tmpdir(), 'llmx-redis-cluster-'));
  const nodes: ServerProcess[] = [];
  const stop = async (): Promise<void> => {
    for (const n of nodes) await n.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ports = await freePorts(masters * 2);
    for (let i = 0; i < masters; i++) {
      const port = ports[i]!;
      const nodeDir = path.join(dir, String(port));
      mkdirSync(nodeDir);
      nodes.push(
        await spawnServer(
          [
            '--port', String(port), '--bind', '127.0.0.1', '--dir', nodeDir, '--save', '', '--appendonly', 'no',
            '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000',
            // The bus port is port + 10000 unless set: a free one, since port + 10000 may be taken or beyond 65535.
            '--cluster-port', String(ports[masters + i]!),
            '--daemonize', 'no', '--loglevel', 'warning',
          ],
          port,
          `redis-server (cluster node ${port})`,
        ),
      );
    }
    const addrs = nodes.map((n) => `127.0.0.1:${n.port}`);
    await run('redis-cli', ['--cluster', 'create', ...addrs, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
    for (const n of nodes) {
      await waitFor(`cluster_state:ok on ${n.port}`, async () => (await redisCli(n.port, 'CLUSTER', 'INFO')).includes('cluster_state:ok'));
    }
    return { ports: nodes.map((n) => n.port), url: `redis+cluster://${addrs.join(',')}`, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A primary, one replica and one Sentinel watching them, on free loopback ports. */
export interface TestRedisSentinel {
  readonly masterName: string;
  readonly sentinelPort: number;
  /** The data nodes' ports (primary first at start). */
  readonly dataPorts: readonly [number, number];
  /** `redis+sentinel://127.0.0.1:<sentinel>/<masterName>` */
  readonly url: string;
  /** The primary's port as the Sentinel names it now. */
  primaryPort(): Promise<number>;
  /**
   * `SENTINEL FAILOVER` (retried while the Sentinel has no replica it may promote yet); resolves
   * with the new primary's port once the Sentinel names it and it answers as a master.
   */
  failover(): Promise<number>;
  /** Stops the Sentinel and both data nodes and removes the temp dir. */
  stop(): Promise<void>;
}

export async function startRedisSentinel(masterName = 'llmx-primary'): Promise<TestRedisSentinel> {
  requireRedisServer();
  const dir = mkdtempSync(path.join(tmpdir(), 'llmx-redis-sentinel-'));
  const procs: ServerProcess[] = [];
  const stop = async (): Promise<void> => {
    // The Sentinel first, so it does not start a failover while the data nodes go.
    for (const p of [...procs].reverse()) await p.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const [primary, replica, sentinel] = (await freePorts(3)) as [number, number, number];
    const common = (port: number): string[] => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning'];
    for (const [port, extra] of [[primary, []], [replica, ['--replicaof', '127.0.0.1', String(primary)]]] as Array<[number, string[]]>) {
      const nodeDir = path.join(dir, String(port));
      mkdirSync(nodeDir);
      procs.push(await spawnServer([...common(port), '--dir', nodeDir, ...extra], port, `redis-server (${port})`));
    }
    await waitFor('the replica in sync', async () => (await redisCli(replica, 'INFO', 'replication')).includes('master_link_status:up'));
    // The Sentinel rewrites its config file: it must be a writable file of its own.
    const conf = path.join(dir, 'sentinel.conf');
    writeFileSync(
      conf,
      [
        `port ${sentinel}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${masterName} 127.0.0.1 ${primary} 1`,
        `sentinel down-after-milliseconds ${masterName} 1000`,
        `sentinel failover-timeout ${masterName} 10000`,
        `sentinel parallel-syncs ${masterName} 1`,
        '',
      ].join('\n'),
    );
    procs.push(await spawnServer([conf, '--sentinel', '--daemonize', 'no', '--loglevel', 'warning'], sentinel, `redis-sentinel (${sentinel})`));
    await waitFor('the Sentinel to know the replica', async () => {
      const out = await redisCli(sentinel, 'SENTINEL', 'REPLICAS', masterName);
      return out.includes(String(replica)) && !/s_down|disconnected/.test(out);
    });
    const primaryPort = async (): Promise<number> => Number((await redisCli(sentinel, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName)).split('\n')[1]);
    return {
      masterName,
      sentinelPort: sentinel,
      dataPorts: [primary, replica],
      url: `redis+sentinel://127.0.0.1:${sentinel}/${masterName}`,
      primaryPort,
      async failover() {
        const before = await primaryPort();
        await waitFor('SENTINEL FAILOVER accepted', async () => (await redisCli(sentinel, 'SENTINEL', 'FAILOVER', masterName)) === 'OK');
        let now = before;
        await waitFor('the Sentinel to name a new primary that answers as master', async () => {
          now = await primaryPort();
          return now !== before && (await redisCli(now, 'ROLE')).startsWith('master');
        });
        return now;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
