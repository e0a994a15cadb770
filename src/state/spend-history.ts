/**
 * Spend history: hourly buckets of cost, tokens and requests per team, provider and model, kept
 * in the state backend so that every replica reads the fleet's numbers (GET /admin/spend, the
 * dashboard's charts). Written in batches off the request path (src/observability/spend-recorder.ts),
 * read by the admin API. Implemented by both backends (embedded: a SQLite table; Redis: one hash
 * per hour), tested by the shared contract (test/state/contract.ts).
 */

/** One hour in milliseconds: the bucket width. */
export const HOUR_MS = 3_600_000;

/** What one bucket counts. All non-negative safe integers. */
export interface SpendAmounts {
  /** Requests finished (answered, failed or refused after the gateway knew their key). */
  requests: number;
  /** Prompt tokens (provider-reported, or the gateway's estimate where the provider gave none). */
  tokensIn: number;
  /** Completion tokens. */
  tokensOut: number;
  /** Prompt tokens read from the provider's prompt cache (a part of tokensIn). */
  tokensCached: number;
  /** Cost, nano-USD (1e-9 USD), integer like the budget ledger. */
  nanoUsd: number;
}

/** One hourly bucket. */
export interface SpendBucket extends SpendAmounts {
  /** Start of the hour, epoch ms (a multiple of HOUR_MS, UTC). */
  hour: number;
  team: string;
  /** The provider that served (`cache` for a response cache hit; empty when none was tried). */
  provider: string;
  /** The gateway's public model name (empty when the request named no configured model). */
  model: string;
}

export interface SpendHistoryStore {
  /**
   * Adds each bucket's amounts to the stored bucket of the same hour, team, provider and model
   * (creating it), and keeps every bucket `keepMs` after its hour (older ones are dropped).
   * Throws StateUnavailableError on a backend fault (the caller keeps the amounts and retries);
   * RangeError for a bucket that is not an hour start or an amount that is not a non-negative
   * safe integer.
   */
  addSpendHistory(buckets: readonly SpendBucket[], keepMs: number): Promise<void>;
  /**
   * The stored buckets whose hour lies in [fromMs, toMs), sorted by hour, team, provider, model.
   * RangeError when the range is not whole hours or spans more than MAX_HISTORY_HOURS.
   */
  readSpendHistory(fromMs: number, toMs: number): Promise<SpendBucket[]>;
}

/** Most hours one read may span (~400 days): bounds what one admin request costs Redis. */
export const MAX_HISTORY_HOURS = 24 * 400;

/** The hour a time falls in, epoch ms. */
export const hourOf = (ms: number): number => Math.floor(ms / HOUR_MS) * HOUR_MS;

const AMOUNT_FIELDS = ['requests', 'tokensIn', 'tokensOut', 'tokensCached', 'nanoUsd'] as const;

/** RangeError unless every bucket is well formed (hour start, safe integer amounts). */
export function checkBuckets(buckets: readonly SpendBucket[], keepMs: number): void {
  if (!Number.isSafeInteger(keepMs) || keepMs < HOUR_MS) throw new RangeError(`keepMs must be an integer of at least one hour (ms), got ${keepMs}`);
  for (const b of buckets) {
    if (!Number.isSafeInteger(b.hour) || b.hour % HOUR_MS !== 0) throw new RangeError(`bucket hour must be an hour start (epoch ms), got ${b.hour}`);
    for (const f of AMOUNT_FIELDS) {
      const v = b[f];
      if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`bucket ${f} must be a non-negative safe integer, got ${v}`);
    }
  }
}

/** RangeError unless [fromMs, toMs) is whole hours, ordered, and at most MAX_HISTORY_HOURS long. */
export function checkRange(fromMs: number, toMs: number): void {
  if (!Number.isSafeInteger(fromMs) || !Number.isSafeInteger(toMs) || fromMs % HOUR_MS !== 0 || toMs % HOUR_MS !== 0) {
    throw new RangeError(`the range must be whole hours (epoch ms), got ${fromMs}..${toMs}`);
  }
  if (toMs < fromMs) throw new RangeError('the range ends before it starts');
  if ((toMs - fromMs) / HOUR_MS > MAX_HISTORY_HOURS) throw new RangeError(`the range spans more than ${MAX_HISTORY_HOURS} hours`);
}

/** Orders buckets by hour, team, provider, model. */
export function compareBuckets(a: SpendBucket, b: SpendBucket): number {
  return a.hour - b.hour || cmp(a.team, b.team) || cmp(a.provider, b.provider) || cmp(a.model, b.model);
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
