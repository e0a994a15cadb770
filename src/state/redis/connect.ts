import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

/** How the gateway reaches Redis: one node, a Sentinel-managed primary, or a Redis Cluster. */
export type RedisMode = 'single' | 'sentinel' | 'cluster';

/** A parsed `REDIS_URL`. Holds credentials: never log it; `describe()` gives the safe form. */
export interface RedisTarget {
  readonly mode: RedisMode;
  readonly tls: boolean;
  /** Single node: the URL as given (ioredis parses it, query options included). */
  readonly url?: string;
  /** Sentinel: the sentinels; Cluster: the seed nodes. */
  readonly nodes: ReadonlyArray<{ host: string; port: number }>;
  readonly username?: string;
  readonly password?: string;
  /** Sentinel: the master group name (`sentinel monitor <name> …`). */
  readonly masterName?: string;
  /** Sentinel: the database index on the primary. */
  readonly db?: number;
  /** Sentinel: credentials for the Sentinel daemons (`sentinel_username` / `sentinel_password`). */
  readonly sentinelUsername?: string;
  readonly sentinelPassword?: string;
}

/** What every mode shares: the store's failure semantics (see RedisStateStore). */
export interface RedisConnectOptions {
  keyPrefix: string;
  /** ms */
  commandTimeoutMs: number;
  /** ms */
  connectTimeoutMs: number;
  autoPipelining: boolean;
}

/** A REDIS_URL that cannot be used. The message names the scheme and host:port, never credentials. */
export class RedisUrlError extends Error {
  constructor(url: string, problem: string) {
    // Something that is not a URL at all may be a bare secret: not echoed.
    super(`REDIS_URL ${/^[a-z][a-z0-9+.-]*:\/\//i.test(url.trim()) ? redactUrl(url) : '(not shown)'}: ${problem}`);
    this.name = 'RedisUrlError';
  }
}

const FORMS =
  'redis[s]://[user:password@]host:port[/db], redis[s]+sentinel://[user:password@]host:port[,host:port…]/<master-name>[/<db>], ' +
  'redis[s]+cluster://[user:password@]host:port[,host:port…]';

/** Default ports: Redis's own, and Sentinel's (26379), as redis-cli and redis-py assume. */
const DEFAULT_PORT: Record<RedisMode, number> = { single: 6379, sentinel: 26379, cluster: 6379 };

/**
 * Parses REDIS_URL. Forms (the `+sentinel` form is the one redis-py based tools such as
 * Prefect/docket and Redis-Sentinel-Url accept):
 * - `redis://` / `rediss://`: one node (ioredis parses the rest);
 * - `redis+sentinel://[user:password@]host[:port][,host[:port]…]/<master-name>[/<db>][?sentinel_username=…&sentinel_password=…]`:
 *   the credentials in the userinfo are the data nodes'; the sentinels' come from the query
 *   (also spelt `sentinelUsername` / `sentinelPassword`), none when absent. Port default 26379;
 * - `redis+cluster://[user:password@]host[:port][,host[:port]…]`: seed nodes of a Redis Cluster.
 * `rediss+…` turns TLS on for every connection (data nodes and sentinels).
 * Throws RedisUrlError (scheme and host:port in the message, never the password).
 */
export function parseRedisUrl(url: string): RedisTarget {
  const m = /^([a-z][a-z0-9+.-]*):\/\/(?:([^@/?#]*)@)?([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?$/i.exec(url.trim());
  if (!m) throw new RedisUrlError(url, `not a URL; expected one of ${FORMS}`);
  const scheme = m[1]!.toLowerCase();
  const modes: Record<string, [RedisMode, boolean]> = {
    redis: ['single', false],
    rediss: ['single', true],
    'redis+sentinel': ['sentinel', false],
    'rediss+sentinel': ['sentinel', true],
    'redis+cluster': ['cluster', false],
    'rediss+cluster': ['cluster', true],
  };
  const found = modes[scheme];
  if (!found) throw new RedisUrlError(url, `unknown scheme "${scheme}://"; expected one of ${FORMS}`);
  const [mode, tls] = found;
  if (mode === 'single') {
    // Checked here so a typo fails at start; the URL itself goes to ioredis as before.
    parseUserinfo(url, m[2]);
    return { mode, tls, url, nodes: parseHosts(url, m[3] || 'localhost', DEFAULT_PORT.single, false) };
  }
  const nodes = parseHosts(url, m[3] ?? '', DEFAULT_PORT[mode], true);
  const auth = parseUserinfo(url, m[2]);
  const params = new URLSearchParams(m[5] ?? '');
  const path = (m[4] ?? '').split('/').filter((p) => p !== '').map(decodeURIComponent);
  if (mode === 'cluster') {
    if (path.length > 0) throw new RedisUrlError(url, 'a Redis Cluster has only database 0: no path after the seed nodes');
    if ([...params.keys()].length > 0) throw new RedisUrlError(url, `unknown query parameter(s) ${[...params.keys()].join(', ')} (none are accepted for redis+cluster)`);
    return { mode, tls, nodes, ...auth };
  }
  const masterName = path[0];
  if (masterName === undefined) throw new RedisUrlError(url, 'the master name is missing: redis+sentinel://host:port[,host:port…]/<master-name>[/<db>]');
  if (path.length > 2) throw new RedisUrlError(url, 'too many path segments: expected /<master-name>[/<db>]');
  let db: number | undefined;
  if (path[1] !== undefined) {
    db = Number(path[1]);
    if (!/^\d+$/.test(path[1]) || db > 15) throw new RedisUrlError(url, `database "${path[1]}" is not an index 0–15`);
  }
  const sentinel: { sentinelUsername?: string; sentinelPassword?: string } = {};
  for (const [key, value] of params) {
    if (key === 'sentinel_password' || key === 'sentinelPassword') sentinel.sentinelPassword = value;
    else if (key === 'sentinel_username' || key === 'sentinelUsername') sentinel.sentinelUsername = value;
    else throw new RedisUrlError(url, `unknown query parameter "${key}" (accepted: sentinel_username, sentinel_password)`);
  }
  return { mode, tls, nodes, ...auth, masterName, ...(db !== undefined ? { db } : {}), ...sentinel };
}

function parseUserinfo(url: string, userinfo: string | undefined): { username?: string; password?: string } {
  if (!userinfo) return {};
  const i = userinfo.indexOf(':');
  const decode = (text: string): string => {
    try {
      return decodeURIComponent(text);
    } catch {
      throw new RedisUrlError(url, 'the user or password is not valid percent-encoding: encode % @ : / ? # in them (encodeURIComponent)');
    }
  };
  const username = decode(i < 0 ? userinfo : userinfo.slice(0, i));
  const password = i < 0 ? undefined : decode(userinfo.slice(i + 1));
  // `redis://secret@host` means a password without a user, as redis-cli and ioredis read it.
  if (password === undefined) return username ? { password: username } : {};
  return { ...(username ? { username } : {}), ...(password ? { password } : {}) };
}

function parseHosts(url: string, hostlist: string, defaultPort: number, many: boolean): Array<{ host: string; port: number }> {
  const parts = hostlist.split(',');
  if (!many && parts.length > 1) throw new RedisUrlError(url, 'one host only; for several use redis+sentinel:// or redis+cluster://');
  return parts.map((part) => {
    // A second "@" means a password with a raw "@": the part after it is no host, and part of
    // it is the password, so it is not echoed.
    if (part.includes('@')) throw new RedisUrlError(url, 'a host holds "@": percent-encode "@" in the user or password as %40');
    const hp = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d+))?$/i.exec(part);
    if (!hp) throw new RedisUrlError(url, `"${part}" is not host[:port]`);
    const port = hp[2] === undefined ? defaultPort : Number(hp[2]);
    if (port < 1 || port > 65535) throw new RedisUrlError(url, `port ${hp[2]} is out of range`);
    return { host: hp[1]!.replace(/^\[|\]$/g, ''), port };
  });
}

/** The URL without its userinfo and query (where passwords live): safe for logs and errors. */
export function redactUrl(url: string): string {
  // Up to the last "@" of the authority: a raw "@" inside a password must not leave its tail.
  return url.trim().replace(/^([^:/?#]*:\/\/)[^/?#]*@/, '$1').replace(/[?#].*$/, '');
}

/**
 * An ioredis client for the target, with the store's failure semantics in every mode: no
 * offline queue (a call while disconnected fails at once), a command timeout, no re-send of
 * a command whose connection dropped (it may have run: a reserve must not run twice), and
 * reconnection with back-off (100 ms steps, at most 1 s).
 * - Sentinel: asks the sentinels for the primary on every (re)connect, subscribes to
 *   `+switch-master` (`failoverDetector`) to drop the old primary at once, and reconnects on a
 *   READONLY reply (a demoted primary still connected).
 * - Cluster: MOVED/ASK are followed (at most 16 redirections); CLUSTERDOWN and TRYAGAIN (the
 *   command did not run) are retried every 100 ms within the command timeout; a command whose
 *   node connection closed is not retried (`retryDelayOnFailover: 0`); each node's connection
 *   is opened as soon as the node is known, not on its first command.
 */
export function connectRedis(target: RedisTarget, opts: RedisConnectOptions): Redis | Cluster {
  const backoff = (times: number): number => Math.min(100 * times, 1000);
  const perConnection: RedisOptions = {
    commandTimeout: opts.commandTimeoutMs,
    connectTimeout: opts.connectTimeoutMs,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    ...(target.username !== undefined ? { username: target.username } : {}),
    ...(target.password !== undefined ? { password: target.password } : {}),
  };
  if (target.mode === 'single') {
    return new Redis(target.url!, {
      ...perConnection,
      keyPrefix: opts.keyPrefix,
      enableOfflineQueue: false,
      retryStrategy: backoff,
      enableAutoPipelining: opts.autoPipelining,
    });
  }
  if (target.mode === 'sentinel') {
    return new Redis({
      ...perConnection,
      keyPrefix: opts.keyPrefix,
      enableOfflineQueue: false,
      retryStrategy: backoff,
      enableAutoPipelining: opts.autoPipelining,
      sentinels: target.nodes.map((n) => ({ host: n.host, port: n.port })),
      name: target.masterName!,
      role: 'master',
      ...(target.db !== undefined ? { db: target.db } : {}),
      ...(target.sentinelUsername !== undefined ? { sentinelUsername: target.sentinelUsername } : {}),
      ...(target.sentinelPassword !== undefined ? { sentinelPassword: target.sentinelPassword } : {}),
      sentinelRetryStrategy: backoff,
      sentinelCommandTimeout: opts.connectTimeoutMs,
      failoverDetector: true,
      reconnectOnError: (err) => err.message.startsWith('READONLY'),
      ...(target.tls ? { tls: {}, enableTLSForSentinelMode: true, sentinelTLS: {} } : {}),
    });
  }
  const options: ClusterOptions = {
    keyPrefix: opts.keyPrefix,
    enableOfflineQueue: false,
    enableReadyCheck: true,
    enableAutoPipelining: opts.autoPipelining,
    clusterRetryStrategy: backoff,
    maxRedirections: 16,
    retryDelayOnFailover: 0,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    slotsRefreshTimeout: opts.connectTimeoutMs,
    redisOptions: { ...perConnection, ...(target.tls ? { tls: {} } : {}) },
  };
  const cluster = new Cluster(
    target.nodes.map((n) => ({ host: n.host, port: n.port })),
    options,
  );
  // ioredis opens a node's connection on its first command (lazyConnect); without an offline
  // queue, concurrent commands sent while it connects would fail. So once the cluster is ready,
  // every node it knows is connected, and any node learnt later at once. Not before 'ready': the
  // ready check (CLUSTER INFO) needs a node still in 'wait', or it fails and ioredis can stall.
  const connectNode = (node: Redis): void => {
    if (node.status === 'wait') node.connect().catch(() => undefined);
  };
  cluster.on('ready', () => cluster.nodes('all').forEach(connectNode));
  cluster.on('+node', (node: Redis) => {
    if (cluster.status === 'ready') connectNode(node);
  });
  return cluster;
}

/** True when the client can take commands now: connected, and for a Cluster every master's connection too. */
export function clientReady(client: Redis | Cluster): boolean {
  if (client.status !== 'ready') return false;
  return !(client instanceof Cluster) || client.nodes('master').every((n) => n.status === 'ready');
}

/**
 * Sets the command timeout of a live client (hot reload). ioredis reads `options.commandTimeout`
 * when it sends each command, so this applies to the next command; commands in flight keep
 * theirs. A Cluster has one connection per node, each with its own copy of the options, plus
 * `redisOptions` for nodes it connects to later: all are updated.
 */
export function setCommandTimeout(client: Redis | Cluster, ms: number): void {
  if (client instanceof Cluster) {
    if (client.options.redisOptions) client.options.redisOptions.commandTimeout = ms;
    for (const node of client.nodes('all')) node.options.commandTimeout = ms;
  } else {
    client.options.commandTimeout = ms;
  }
}
