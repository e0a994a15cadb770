import type { Cluster, Redis } from 'ioredis';
import { StateUnavailableError } from '../errors.ts';
import { DEFAULT_SUB_WINDOWS } from '../sliding-window.ts';
import type {
  ChargeStatus,
  NanoUsd,
  ReserveResult,
  ReserveSpendResult,
  ReservedCharge,
  SpendCharge,
  SpendReservation,
  StateStore,
  WindowCharge,
  WindowReservation,
} from '../store.ts';
import { SETTLED_MEMORY_MS, checkId, checkReserve, checkReserveSpend, checkTtl, checkUnits } from '../validate.ts';
import { clientReady, connectRedis, parseRedisUrl, setCommandTimeout, type RedisMode } from './connect.ts';
import * as K from './keys.ts';
import * as S from './scripts.ts';
import { HISTORY_ADD, bucketsOfHash, historyKey, historyWrites } from './spend-history.ts';
import { HOUR_MS, checkBuckets, checkRange, type SpendBucket } from '../spend-history.ts';

export interface RedisStoreOptions {
  /**
   * `redis://[user:password@]host:port[/db]` or `rediss://…` (one node),
   * `redis[s]+sentinel://[user:password@]host:port[,host:port…]/<master-name>[/<db>]` (Sentinel),
   * `redis[s]+cluster://[user:password@]host:port[,host:port…]` (Cluster seed nodes); see
   * parseRedisUrl in ./connect.ts. Throws RedisUrlError for anything else.
   */
  url: string;
  /** Prepended to every key. Default `llmx:`. Must not hold `{` or `}` (RangeError): it would break the hash tags. */
  keyPrefix?: string;
  /** Longest wait for one command before it fails with StateUnavailableError, ms. Default 250. */
  commandTimeoutMs?: number;
  /** Longest wait for a connection, ms. Default 2000. */
  connectTimeoutMs?: number;
  /** Sub-windows per rate-limit window (N); every replica must use the same. Default 10. */
  subWindows?: number;
  /** Called with connection errors (ioredis reconnects by itself), e.g. to log and count them. */
  onError?: (err: Error) => void;
  /**
   * ioredis `enableAutoPipelining`: commands of one event-loop turn leave in one socket write
   * (e.g. the rate-limit and budget reserves of a request, admitted together). Default false.
   */
  autoPipelining?: boolean;
}

type Reply = Array<string | number>;

/** The scripts as commands on the client (ioredis `defineCommand`). */
interface ScriptCommands {
  llmxReserve(...args: Array<string | number>): Promise<Reply>;
  llmxSettle(...args: Array<string | number>): Promise<number>;
  llmxReserveSpend(...args: Array<string | number>): Promise<Reply>;
  llmxSettleSpend(...args: Array<string | number>): Promise<number>;
  llmxReleaseSpend(...args: Array<string | number>): Promise<number>;
  llmxRecordPut(...args: Array<string | number>): Promise<number>;
  llmxRecordDelete(...args: Array<string | number>): Promise<number>;
  llmxRecordIds(...args: Array<string | number>): Promise<string[]>;
  llmxHistoryAdd(...args: Array<string | number>): Promise<number>;
}

/**
 * Shared state for a fleet of gateway replicas, on one node, a Sentinel-managed primary or a
 * Redis Cluster (by the URL's scheme; ./connect.ts maps the semantics below onto each client).
 * Every check-and-reserve is one Lua script (one round trip, atomic, Redis's clock; one slot). Faults never hang a caller: commands fail after
 * `commandTimeoutMs`; while disconnected they fail at once (no offline queue) and commands in
 * flight are not re-sent after a reconnect (a reserve must not run twice); ioredis reconnects
 * with back-off (100 ms steps, at most 1 s). A reserve that timed out may still have run on
 * the server: its units stay counted until their window passes (spend reservations until their
 * TTL), which errs on the side of the limit.
 */
export class RedisStateStore implements StateStore {
  readonly backend = 'redis' as const;
  /** One node, Sentinel or Cluster, from the URL's scheme. */
  readonly mode: RedisMode;
  private readonly redis: (Redis | Cluster) & ScriptCommands;
  private readonly n: number;
  private closed = false;
  /** Why the client is not connected (WRONGPASS, ECONNREFUSED, sentinels unreachable…), until it is. */
  private lastConnectionError: Error | undefined;
  /** Failed commands by operation since start (gateway_redis_command_errors_total reads it at scrape time). */
  readonly commandErrors = new Map<string, number>();

  constructor(opts: RedisStoreOptions) {
    this.n = opts.subWindows ?? DEFAULT_SUB_WINDOWS;
    const keyPrefix = opts.keyPrefix ?? 'llmx:';
    checkKeyPrefix(keyPrefix);
    const target = parseRedisUrl(opts.url);
    this.mode = target.mode;
    const redis = connectRedis(target, {
      keyPrefix,
      commandTimeoutMs: opts.commandTimeoutMs ?? 250,
      connectTimeoutMs: opts.connectTimeoutMs ?? 2000,
      autoPipelining: opts.autoPipelining ?? false,
    });
    const onError = opts.onError;
    // ioredis emits 'error' on every failed (re)connect; without a listener it prints to stderr.
    redis.on('error', (err: Error) => {
      this.lastConnectionError = err;
      onError?.(err);
    });
    redis.on('ready', () => (this.lastConnectionError = undefined));
    const define = (name: keyof ScriptCommands, lua: string): void => redis.defineCommand(name, { lua });
    define('llmxReserve', S.RESERVE);
    define('llmxSettle', S.SETTLE);
    define('llmxReserveSpend', S.RESERVE_SPEND);
    define('llmxSettleSpend', S.SETTLE_SPEND);
    define('llmxReleaseSpend', S.RELEASE_SPEND);
    define('llmxRecordPut', S.RECORD_PUT);
    define('llmxRecordDelete', S.RECORD_DELETE);
    define('llmxRecordIds', S.RECORD_IDS);
    define('llmxHistoryAdd', HISTORY_ADD);
    this.redis = redis as (Redis | Cluster) & ScriptCommands;
  }

  /** Sets the per-command timeout (ms) for the next commands of the live client (hot reload). */
  setCommandTimeout(ms: number): void {
    if (!Number.isInteger(ms) || ms < 1) throw new RangeError(`commandTimeoutMs must be a positive integer (ms), got ${ms}`);
    setCommandTimeout(this.redis, ms);
  }

  /**
   * Resolves true once connected (a Cluster: every master), or false after `timeoutMs` (the
   * store then fails per call until Redis answers).
   */
  async waitReady(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!(this.isReady() && clientReady(this.redis))) {
      if (this.closed || Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
    return true;
  }

  async reserve(requestId: string, partition: string, charges: readonly WindowCharge[]): Promise<ReserveResult> {
    checkReserve(requestId, partition, charges);
    const keys = [K.windowReservationKey(partition, requestId), ...charges.map((c) => K.windowKey(partition, c.counter, c.windowMs))];
    const argv = [this.n, ...charges.flatMap((c) => [c.amount, c.limit, c.windowMs])];
    const r = await this.call('reserve', () => this.redis.llmxReserve(keys.length, ...keys, ...argv));
    const at = Number(r[1]);
    if (r[0] === 'dup') throw new RangeError(`request ${requestId} already has an active window reservation`);
    if (r[0] === 'refused') {
      const i = Number(r[2]);
      const c = charges[i]!;
      const retry = Number(r[4]);
      return { granted: false, refusedIndex: i, counter: c.counter, limit: c.limit, used: Number(r[3]), retryAfterMs: retry < 0 ? null : retry, at };
    }
    const reserved: ReservedCharge[] = [];
    const status: ChargeStatus[] = [];
    charges.forEach((c, i) => {
      const [bucket, s, remaining, resetMs] = r.slice(2 + i * 4, 6 + i * 4).map(Number) as [number, number, number, number];
      reserved.push({ counter: c.counter, windowMs: c.windowMs, amount: c.amount, bucket, subWindowMs: s });
      status.push({ counter: c.counter, limit: c.limit, remaining, resetMs });
    });
    return { granted: true, reservation: { requestId, partition, charges: reserved }, charges: status, at };
  }

  async settle(reservation: WindowReservation, actualAmounts: readonly number[]): Promise<boolean> {
    if (actualAmounts.length !== reservation.charges.length) throw new RangeError('settle needs one actual amount per reserved charge');
    actualAmounts.forEach((a, i) => checkUnits(`actualAmounts[${i}]`, a));
    return this.applyDeltas('settle', reservation, reservation.charges.map((c, i) => actualAmounts[i]! - c.amount));
  }

  async release(reservation: WindowReservation): Promise<boolean> {
    return this.applyDeltas('release', reservation, reservation.charges.map((c) => -c.amount));
  }

  private async applyDeltas(op: string, r: WindowReservation, deltas: number[]): Promise<boolean> {
    const keys = [K.windowReservationKey(r.partition, r.requestId), ...r.charges.map((c) => K.windowKey(r.partition, c.counter, c.windowMs))];
    const argv = [this.n, ...r.charges.flatMap((c, i) => [c.bucket, c.subWindowMs, deltas[i]!])];
    return (await this.call(op, () => this.redis.llmxSettle(keys.length, ...keys, ...argv))) === 1;
  }

  async reserveSpend(
    requestId: string,
    partition: string,
    charges: readonly SpendCharge[],
    estimate: NanoUsd,
    ttlMs: number,
  ): Promise<ReserveSpendResult> {
    checkReserveSpend(requestId, partition, charges, estimate, ttlMs);
    const keys = charges.flatMap((c) => [K.spentKey(partition, c.subject, c.period), ...K.heldKeys(partition, c.subject, c.period)]);
    const argv = [requestId, estimate, ttlMs, ...charges.map((c) => c.limit ?? -1)];
    const r = await this.call('reserveSpend', () => this.redis.llmxReserveSpend(keys.length, ...keys, ...argv));
    if (r[0] === 'dup') throw new RangeError(`request ${requestId} already holds a spend reservation`);
    if (r[0] === 'refused') {
      const i = Number(r[2]);
      const c = charges[i]!;
      return { granted: false, refusedIndex: i, status: { subject: c.subject, period: c.period, limit: c.limit, spent: Number(r[3]), reserved: Number(r[4]) } };
    }
    const reservation: SpendReservation = {
      requestId,
      partition,
      charges: charges.map((c) => ({ subject: c.subject, period: c.period })),
      amount: estimate,
      expiresAt: Number(r[2]),
    };
    const statuses = charges.map((c, i) => ({
      subject: c.subject,
      period: c.period,
      limit: c.limit,
      spent: Number(r[3 + i * 2]),
      reserved: Number(r[4 + i * 2]),
    }));
    return { granted: true, reservation, charges: statuses };
  }

  async settleSpend(reservation: SpendReservation, actual: NanoUsd): Promise<boolean> {
    checkUnits('actual (nano-USD)', actual);
    const p = reservation.partition;
    const keys = [
      K.settledKey(p, reservation.requestId),
      ...reservation.charges.flatMap((c) => [K.spentKey(p, c.subject, c.period), ...K.heldKeys(p, c.subject, c.period)]),
    ];
    const r = await this.call('settleSpend', () => this.redis.llmxSettleSpend(keys.length, ...keys, reservation.requestId, actual, SETTLED_MEMORY_MS));
    return r === 1;
  }

  async releaseSpend(reservation: SpendReservation): Promise<void> {
    const keys = reservation.charges.flatMap((c) => K.heldKeys(reservation.partition, c.subject, c.period));
    await this.call('releaseSpend', () => this.redis.llmxReleaseSpend(keys.length, ...keys, reservation.requestId));
  }

  async spent(partition: string, subject: string, period: string): Promise<NanoUsd> {
    const v = await this.call('spent', () => this.redis.get(K.spentKey(partition, subject, period)));
    return v === null ? 0 : Number(v);
  }

  async cacheGet(key: string): Promise<Uint8Array | undefined> {
    checkId('key', key);
    const v = await this.call('cacheGet', () => this.redis.getBuffer(K.cacheKey(key)));
    return v === null ? undefined : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  }

  async cacheSet(key: string, value: Uint8Array, ttlMs: number): Promise<void> {
    checkId('key', key);
    checkTtl('ttlMs', ttlMs);
    await this.call('cacheSet', () => this.redis.set(K.cacheKey(key), Buffer.from(value.buffer, value.byteOffset, value.byteLength), 'PX', ttlMs));
  }

  async putRecord(namespace: string, id: string, value: string, ttlMs?: number): Promise<void> {
    checkId('namespace', namespace);
    checkId('id', id);
    if (ttlMs !== undefined) checkTtl('ttlMs', ttlMs);
    await this.call('putRecord', () =>
      this.redis.llmxRecordPut(2, K.recordKey(namespace, id), K.recordIndexKey(namespace), id, value, ttlMs === undefined ? '' : ttlMs),
    );
  }

  async getRecord(namespace: string, id: string): Promise<string | undefined> {
    const v = await this.call('getRecord', () => this.redis.get(K.recordKey(namespace, id)));
    return v ?? undefined;
  }

  async deleteRecord(namespace: string, id: string): Promise<boolean> {
    const n = await this.call('deleteRecord', () => this.redis.llmxRecordDelete(2, K.recordKey(namespace, id), K.recordIndexKey(namespace), id));
    return n === 1;
  }

  async listRecords(namespace: string): Promise<Array<{ id: string; value: string }>> {
    const ids = await this.call('listRecords', () => this.redis.llmxRecordIds(1, K.recordIndexKey(namespace)));
    if (ids.length === 0) return [];
    // Same hash tag as the index, so one MGET is Cluster-safe.
    const values = await this.call('listRecords', () => this.redis.mget(...ids.map((id) => K.recordKey(namespace, id))));
    const out: Array<{ id: string; value: string }> = [];
    ids.forEach((id, i) => {
      const v = values[i];
      if (v !== null && v !== undefined) out.push({ id, value: v });
    });
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async addSpendHistory(buckets: readonly SpendBucket[], keepMs: number): Promise<void> {
    checkBuckets(buckets, keepMs);
    // One script per hour: its hash is one key (one Cluster slot); a batch rarely spans two hours.
    for (const w of historyWrites(buckets, keepMs, Date.now())) {
      await this.call('addSpendHistory', () => this.redis.llmxHistoryAdd(1, w.key, ...w.argv));
    }
  }

  async readSpendHistory(fromMs: number, toMs: number): Promise<SpendBucket[]> {
    checkRange(fromMs, toMs);
    const hours: number[] = [];
    for (let h = fromMs; h < toMs; h += HOUR_MS) hours.push(h);
    const out: SpendBucket[] = [];
    // 100 hours in flight at a time (each its own key and, in a Cluster, maybe its own shard).
    for (let i = 0; i < hours.length; i += 100) {
      const chunk = hours.slice(i, i + 100);
      const hashes = await this.call('readSpendHistory', () => Promise.all(chunk.map((h) => this.redis.hgetall(historyKey(h)))));
      chunk.forEach((h, j) => out.push(...bucketsOfHash(h, hashes[j]!)));
    }
    return out;
  }

  notReadyReason(): string | undefined {
    if (this.isReady()) return undefined;
    return new StateUnavailableError('redis', 'connect', this.lastConnectionError ?? new Error('no connection yet')).message;
  }

  isReady(): boolean {
    // A Cluster with one master down is still ready: calls to the other shards work.
    return !this.closed && this.redis.status === 'ready';
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.redis.quit();
    } catch {
      // Already disconnected: nothing left to close but the socket.
    }
    // Also after QUIT: with Sentinel, only disconnect() closes the failover detector's
    // subscriptions to the sentinels (ioredis 5), which would otherwise keep reconnecting.
    this.redis.disconnect();
  }

  /** One command; anything Redis or the connection throws becomes StateUnavailableError. */
  private async call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new StateUnavailableError('redis', operation, new Error('store closed'));
    try {
      return await fn();
    } catch (err) {
      this.commandErrors.set(operation, (this.commandErrors.get(operation) ?? 0) + 1);
      // ioredis fails a command on a closed connection with "Connection is closed"; the reason
      // it is closed (a wrong password, say) is only in its last 'error' event.
      const why = !this.isReady() && this.lastConnectionError ? new Error(`not connected (${this.lastConnectionError.message})`) : err;
      throw new StateUnavailableError('redis', operation, why);
    }
  }
}

/** Throws RangeError when `prefix` holds a brace: the first `{…}` of a key is its Cluster hash tag. */
export function checkKeyPrefix(prefix: string): void {
  if (/[{}]/.test(prefix)) {
    throw new RangeError(`keyPrefix "${prefix}" must not contain "{" or "}": the first {…} of a key is its Redis Cluster hash tag, and the keys' own tags ({t:<team>}, {r:<namespace>}) must be it`);
  }
}
