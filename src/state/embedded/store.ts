import { StateUnavailableError } from '../errors.ts';
import { DEFAULT_SUB_WINDOWS } from '../sliding-window.ts';
import type {
  NanoUsd,
  ReserveResult,
  ReserveSpendResult,
  SpendCharge,
  SpendReservation,
  StateStore,
  SyncStateCalls,
  WindowCharge,
  WindowReservation,
} from '../store.ts';
import { checkId, checkReserve, checkReserveSpend, checkTtl, checkUnits } from '../validate.ts';
import { EmbeddedCache } from './cache.ts';
import { EmbeddedRecords } from './records.ts';
import { EmbeddedSpendLedger } from './spend-ledger.ts';
import { EmbeddedSpendHistory } from './spend-history.ts';
import { checkBuckets, checkRange, type SpendBucket } from '../spend-history.ts';
import { openDb, type Db } from './sqlite.ts';
import { EmbeddedWindows } from './windows.ts';

export interface EmbeddedStoreOptions {
  /** SQLite file for spend and records; created with its directory. `:memory:` for throwaway state. */
  sqlitePath: string;
  /** Sub-windows per rate-limit window (N). Default 10. */
  subWindows?: number;
  /** Response cache bound, bytes (values + keys). Default 64 MiB. */
  cacheMaxBytes?: number;
  /** Clock, epoch ms; tests may drive it. Default Date.now. */
  now?: () => number;
  /**
   * How long a budget settlement waits to share one SQLite commit with the others, ms (default
   * SETTLE_COMMIT_MS); 0: only with those of the same event-loop turn. Settled spend counts at
   * once in this process; a crash loses what was not committed yet.
   */
  settleCommitMs?: number;
}

/**
 * Default settlement commit interval, ms. Committing per event-loop turn (at low load: one
 * settlement per commit) cost a request 38–67 µs of the event loop in commits alone, at 1,000
 * and 2,500 requests/s; sharing a commit over 10 ms, 28–37 µs, and 10–22 µs since the settled
 * markers are appended by expiry (bench/policy-steps.ts, 2-core VM; README, State). A commit
 * costs ~150–180 µs however few it carries (a cold SQLite and kernel path every 10 ms), so
 * below ~1,000 requests/s its share per request grows. The price of the interval: a crash may
 * lose the last 10 ms of settlements.
 */
export const SETTLE_COMMIT_MS = 10;

/**
 * The default backend, needing nothing installed: counters and the cache in this process,
 * spend and records in a SQLite file. Everything runs synchronously inside the async methods,
 * so each check-and-reserve is atomic on Node's single thread. One replica only: replicas
 * sharing limits and budgets need Redis.
 */
export class EmbeddedStateStore implements StateStore {
  readonly backend = 'embedded' as const;
  private readonly db: Db;
  private readonly windows: EmbeddedWindows;
  private readonly ledger: EmbeddedSpendLedger;
  private readonly records: EmbeddedRecords;
  private readonly cache: EmbeddedCache;
  private readonly history: EmbeddedSpendHistory;
  private closed = false;

  constructor(opts: EmbeddedStoreOptions) {
    const now = opts.now ?? Date.now;
    try {
      this.db = openDb(opts.sqlitePath);
    } catch (err) {
      throw new StateUnavailableError('embedded', 'open', err);
    }
    this.windows = new EmbeddedWindows(opts.subWindows ?? DEFAULT_SUB_WINDOWS, now);
    this.ledger = new EmbeddedSpendLedger(this.db, now, opts.settleCommitMs ?? SETTLE_COMMIT_MS);
    this.records = new EmbeddedRecords(this.db, now);
    this.cache = new EmbeddedCache(opts.cacheMaxBytes ?? 64 * 1024 * 1024, now);
    this.history = new EmbeddedSpendHistory(this.db, now);
  }

  /** The window and spend calls without a promise (StateStore.sync); the async methods below delegate to them. */
  readonly sync: SyncStateCalls = {
    reserve: (requestId, partition, charges) => {
      checkReserve(requestId, partition, charges);
      this.open('reserve');
      try {
        return this.windows.reserve(requestId, partition, charges);
      } catch (err) {
        throw this.fault('reserve', err);
      }
    },
    settle: (reservation, actualAmounts) => {
      if (actualAmounts.length !== reservation.charges.length) throw new RangeError('settle needs one actual amount per reserved charge');
      for (let i = 0; i < actualAmounts.length; i++) {
        const a = actualAmounts[i]!;
        if (!Number.isSafeInteger(a) || a < 0) checkUnits(`actualAmounts[${i}]`, a);
      }
      this.open('settle');
      try {
        return this.windows.settle(reservation, actualAmounts);
      } catch (err) {
        throw this.fault('settle', err);
      }
    },
    release: (reservation) => {
      this.open('release');
      try {
        return this.windows.release(reservation);
      } catch (err) {
        throw this.fault('release', err);
      }
    },
    reserveSpend: (requestId, partition, charges, estimate, ttlMs) => {
      checkReserveSpend(requestId, partition, charges, estimate, ttlMs);
      this.open('reserveSpend');
      try {
        return this.ledger.reserve(requestId, partition, charges, estimate, ttlMs);
      } catch (err) {
        throw this.fault('reserveSpend', err);
      }
    },
    releaseSpend: (reservation) => {
      this.open('releaseSpend');
      try {
        this.ledger.release(reservation);
      } catch (err) {
        throw this.fault('releaseSpend', err);
      }
    },
  };

  async reserve(requestId: string, partition: string, charges: readonly WindowCharge[]): Promise<ReserveResult> {
    return this.sync.reserve(requestId, partition, charges);
  }

  async settle(reservation: WindowReservation, actualAmounts: readonly number[]): Promise<boolean> {
    return this.sync.settle(reservation, actualAmounts);
  }

  async release(reservation: WindowReservation): Promise<boolean> {
    return this.sync.release(reservation);
  }

  async reserveSpend(
    requestId: string,
    partition: string,
    charges: readonly SpendCharge[],
    estimate: NanoUsd,
    ttlMs: number,
  ): Promise<ReserveSpendResult> {
    return this.sync.reserveSpend(requestId, partition, charges, estimate, ttlMs);
  }

  async settleSpend(reservation: SpendReservation, actual: NanoUsd): Promise<boolean> {
    checkUnits('actual (nano-USD)', actual);
    // Part of the settled marker's key (spend-ledger.ts): a bad one must not fail the whole batch's commit.
    if (!Number.isSafeInteger(reservation.expiresAt)) throw new RangeError(`reservation.expiresAt must be an integer (epoch ms), got ${reservation.expiresAt}`);
    const committed = this.run('settleSpend', () => this.ledger.settle(reservation, actual));
    return committed.catch((err: unknown) => {
      throw new StateUnavailableError('embedded', 'settleSpend', err);
    });
  }

  async releaseSpend(reservation: SpendReservation): Promise<void> {
    this.sync.releaseSpend(reservation);
  }

  async spent(partition: string, subject: string, period: string): Promise<NanoUsd> {
    return this.run('spent', () => this.ledger.spent(partition, subject, period));
  }

  async cacheGet(key: string): Promise<Uint8Array | undefined> {
    checkId('key', key);
    return this.run('cacheGet', () => this.cache.get(key));
  }

  async cacheSet(key: string, value: Uint8Array, ttlMs: number): Promise<void> {
    checkId('key', key);
    checkTtl('ttlMs', ttlMs);
    return this.run('cacheSet', () => this.cache.set(key, value, ttlMs));
  }

  async putRecord(namespace: string, id: string, value: string, ttlMs?: number): Promise<void> {
    checkId('namespace', namespace);
    checkId('id', id);
    if (ttlMs !== undefined) checkTtl('ttlMs', ttlMs);
    return this.run('putRecord', () => this.records.putRecord(namespace, id, value, ttlMs));
  }

  async getRecord(namespace: string, id: string): Promise<string | undefined> {
    return this.run('getRecord', () => this.records.getRecord(namespace, id));
  }

  async deleteRecord(namespace: string, id: string): Promise<boolean> {
    return this.run('deleteRecord', () => this.records.deleteRecord(namespace, id));
  }

  async listRecords(namespace: string): Promise<Array<{ id: string; value: string }>> {
    return this.run('listRecords', () => this.records.listRecords(namespace));
  }

  async addSpendHistory(buckets: readonly SpendBucket[], keepMs: number): Promise<void> {
    checkBuckets(buckets, keepMs);
    return this.run('addSpendHistory', () => this.history.addSpendHistory(buckets, keepMs));
  }

  async readSpendHistory(fromMs: number, toMs: number): Promise<SpendBucket[]> {
    checkRange(fromMs, toMs);
    return this.run('readSpendHistory', () => this.history.readSpendHistory(fromMs, toMs));
  }

  /** Bytes the response cache holds now. */
  get cacheBytes(): number {
    return this.cache.bytes;
  }

  isReady(): boolean {
    return !this.closed && this.db.open;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.ledger.flush(); // settlements still waiting for their commit
    this.cache.clear();
    this.db.close();
  }

  /** Throws StateUnavailableError once the store is closed. */
  private open(operation: string): void {
    if (this.closed) throw new StateUnavailableError('embedded', operation, new Error('store closed'));
  }

  /** A fault of one operation as callers see it: a caller bug stays a RangeError, anything else (SQLite) becomes StateUnavailableError. */
  private fault(operation: string, err: unknown): Error {
    if (err instanceof RangeError) return err;
    return new StateUnavailableError('embedded', operation, err);
  }

  /** Runs one operation; a SQLite fault (disk full, file gone, closed store) becomes StateUnavailableError. */
  private run<T>(operation: string, fn: () => T): T {
    if (this.closed) throw new StateUnavailableError('embedded', operation, new Error('store closed'));
    try {
      return fn();
    } catch (err) {
      if (err instanceof RangeError) throw err;
      throw new StateUnavailableError('embedded', operation, err);
    }
  }
}
