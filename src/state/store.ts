/**
 * The state layer's one interface: what the policies (keys, rate limits, budgets, response
 * cache, Anthropic thinking blocks) may ask of shared state. Two implementations pass the same
 * contract tests (test/state/contract.ts): embedded (src/state/embedded/: in-process maps and a
 * SQLite file) and Redis (src/state/redis/: one Lua script per check-and-reserve).
 *
 * Rules every method keeps:
 * - Over a limit is a *result* (`{ granted: false, ... }`); only a backend fault throws, and then
 *   always a `StateUnavailableError` (backend + operation). A caller bug (a negative amount, a
 *   non-integer nano-USD) throws a `RangeError` before anything is touched.
 * - Check-and-reserve is all-or-nothing over every charge: a refusal leaves every counter as it
 *   was (the lesson of LiteLLM's and agentgateway's partial charges).
 * - Reservations are plain values the caller keeps (on the Exchange); `settle`/`release` are
 *   idempotent per request id, so a retry or a double `finally` cannot charge twice, and any
 *   replica can settle what another reserved.
 *
 * Compared with the sketch in STYLE.md: `reserve` returns a result instead of throwing on a
 * refusal, with the per-charge numbers the `x-ratelimit-*` headers need; charges carry their
 * own limit and window (the store knows no config); a `partition` (the team) keeps every key one
 * call touches on one Redis Cluster shard; budgets are a separate ledger (durable, nano-USD,
 * reservations with a TTL) rather than one more window; records cover keys and thinking blocks.
 */
export { StateUnavailableError, type StateBackend } from './errors.ts';
import type { StateBackend } from './errors.ts';
import type { SpendHistoryStore } from './spend-history.ts';
export type { SpendBucket, SpendHistoryStore } from './spend-history.ts';

// ---- rate-limit windows -------------------------------------------------------------------

/** One counter to charge: requests (amount 1) or tokens (the estimate) over one window. */
export interface WindowCharge {
  /** Counter id, e.g. `key:<id>/rpm`, `team:<t>/tpm`, `feature:<t>/<f>/tpd`. */
  readonly counter: string;
  /** Units to reserve (requests or tokens); a non-negative safe integer. */
  readonly amount: number;
  /** Most units admitted in any window of `windowMs`; a non-negative safe integer. */
  readonly limit: number;
  /** Window length in ms (60_000 per minute, 86_400_000 per day). */
  readonly windowMs: number;
}

/** What one charge took: enough to settle it in the sub-window it was reserved in. */
export interface ReservedCharge {
  readonly counter: string;
  readonly windowMs: number;
  readonly amount: number;
  /** Index of the sub-window (bucket) the amount was added to: floor(at / subWindowMs). */
  readonly bucket: number;
  readonly subWindowMs: number;
}

/** Held by the caller between `reserve` and `settle`/`release`. Serializable. */
export interface WindowReservation {
  readonly requestId: string;
  readonly partition: string;
  readonly charges: readonly ReservedCharge[];
}

/** Per charge, for the `x-ratelimit-limit-*`, `-remaining-*` and `-reset-*` headers. */
export interface ChargeStatus {
  readonly counter: string;
  readonly limit: number;
  /** Units left in the window after this reservation (may be negative after an overspend). */
  readonly remaining: number;
  /** ms until everything counted now has left the window (OpenAI: "resets to its initial state"). */
  readonly resetMs: number;
}

export type ReserveResult =
  | {
      readonly granted: true;
      readonly reservation: WindowReservation;
      /** Same order as the charges. */
      readonly charges: readonly ChargeStatus[];
      /** The store's clock at the reservation, epoch ms (Redis `TIME` for Redis). */
      readonly at: number;
    }
  | {
      readonly granted: false;
      /** Index into the charges of the first one that does not fit. */
      readonly refusedIndex: number;
      readonly counter: string;
      readonly limit: number;
      /** Units counted in the window at the check (before this request). */
      readonly used: number;
      /** ms until the refused charge would fit; null when its amount alone exceeds its limit. */
      readonly retryAfterMs: number | null;
      readonly at: number;
    };

// ---- budgets --------------------------------------------------------------------------------

/**
 * Money is integer nano-USD (1e-9 USD): sums are exact (no float drift across millions of
 * requests), and every total stays a safe integer (and an exact Lua double in Redis) up to
 * 2^53 nano-USD ≈ 9.0 million USD per subject and period.
 */
export type NanoUsd = number;

/** One budget a request's spend counts against. */
export interface SpendCharge {
  /** e.g. `team:<t>`, `feature:<t>/<f>`, `key:<id>`. */
  readonly subject: string;
  /** e.g. `2026-11` for a UTC calendar month; any string naming the period. */
  readonly period: string;
  /** Hard limit in nano-USD for spent + reserved; null: spend is tracked, never refused. */
  readonly limit: NanoUsd | null;
}

export interface SpendReservation {
  readonly requestId: string;
  readonly partition: string;
  readonly charges: readonly { readonly subject: string; readonly period: string }[];
  readonly amount: NanoUsd;
  /** Store-clock epoch ms after which the reservation no longer counts (a crash leaves no phantom spend). */
  readonly expiresAt: number;
}

export interface SpendStatus {
  readonly subject: string;
  readonly period: string;
  readonly limit: NanoUsd | null;
  /** Settled spend in the period. */
  readonly spent: NanoUsd;
  /** Active reservations, this one included. */
  readonly reserved: NanoUsd;
}

export type ReserveSpendResult =
  | { readonly granted: true; readonly reservation: SpendReservation; readonly charges: readonly SpendStatus[] }
  | {
      readonly granted: false;
      readonly refusedIndex: number;
      /** The refused budget's numbers, before this request. */
      readonly status: SpendStatus;
    };

// ---- the store ------------------------------------------------------------------------------

/** Also the hourly spend history (src/state/spend-history.ts: addSpendHistory, readSpendHistory). */
export interface StateStore extends SpendHistoryStore {
  readonly backend: StateBackend;

  /**
   * Reserves every charge or none. Algorithm: sliding window over N sub-window buckets, counted
   * conservatively (see src/state/sliding-window.ts for the bound). `partition` is the team:
   * all counters of one call live under it (Redis Cluster hash tag `{t:<partition>}`), so a
   * counter id must always be charged under the same partition. `requestId` must not have an
   * active reservation already (RangeError).
   */
  reserve(requestId: string, partition: string, charges: readonly WindowCharge[]): Promise<ReserveResult>;
  /**
   * Replaces each reserved amount by the actual one (same order as the reservation's charges),
   * in the sub-window it was reserved in: the delta may be positive (overspend is kept, never
   * clamped) or negative. Sub-windows already out of every window are skipped (they limit
   * nothing any more). Idempotent: only the first settle or release of a reservation counts.
   * Returns false when it had already been settled, released or had expired.
   */
  settle(reservation: WindowReservation, actualAmounts: readonly number[]): Promise<boolean>;
  /** Gives the whole reservation back (the request was refused later, or never reached a provider). */
  release(reservation: WindowReservation): Promise<boolean>;

  /**
   * Reserves `estimate` nano-USD on every budget, or none: each must keep spent + active
   * reservations + estimate ≤ limit. The reservation expires after `ttlMs` (store clock).
   */
  reserveSpend(
    requestId: string,
    partition: string,
    charges: readonly SpendCharge[],
    estimate: NanoUsd,
    ttlMs: number,
  ): Promise<ReserveSpendResult>;
  /**
   * Removes the reservation and adds `actual` nano-USD to every budget's spend, durably (also
   * after the reservation expired: spend is never dropped). It counts against the budgets from
   * the call on; the promise resolves once it is durable (embedded: committed to SQLite).
   * Idempotent per request id (for 24 h; the embedded store keys its marker by the request id
   * and the reservation's expiresAt, which a repeated settle carries unchanged). Returns false
   * when this request's spend had already been settled.
   */
  settleSpend(reservation: SpendReservation, actual: NanoUsd): Promise<boolean>;
  /** Drops the reservation without spending (the request was refused before any provider call). */
  releaseSpend(reservation: SpendReservation): Promise<void>;
  /** Settled spend of one budget, nano-USD (0 when none). */
  spent(partition: string, subject: string, period: string): Promise<NanoUsd>;

  /** A cached response's bytes, or undefined. The key must already name the team (no sharing). */
  cacheGet(key: string): Promise<Uint8Array | undefined>;
  /** Stores bytes for `ttlMs`; the embedded cache may evict earlier to stay within its byte bound. */
  cacheSet(key: string, value: Uint8Array, ttlMs: number): Promise<void>;

  /**
   * Small records in a namespace (`gateway-key`: admin-created keys, durable; `thinking`:
   * Anthropic thinking blocks by tool-call id, with a TTL). `ttlMs` undefined: kept until deleted.
   * Values are strings (JSON in practice), up to a few KB.
   */
  putRecord(namespace: string, id: string, value: string, ttlMs?: number): Promise<void>;
  getRecord(namespace: string, id: string): Promise<string | undefined>;
  deleteRecord(namespace: string, id: string): Promise<boolean>;
  /** Every live record of the namespace, sorted by id. */
  listRecords(namespace: string): Promise<Array<{ id: string; value: string }>>;

  /**
   * Optional: the window and spend reservations answered without a promise, by a backend with
   * nothing to wait for (embedded), so a policy step can admit and settle synchronously (the
   * pipeline stays synchronous while every step does). Same arguments, results and errors as
   * the methods of the same name, thrown instead of rejected. settleSpend has none: it resolves
   * when the spend is durable.
   */
  readonly sync?: SyncStateCalls;

  /** True when the backend can answer now (Redis connected; SQLite open). For health endpoints. */
  isReady(): boolean;
  /** Why it is not ready (the last connection error, without addresses or credentials); undefined when ready. */
  notReadyReason?(): string | undefined;
  /** Releases connections and files. Further calls throw StateUnavailableError. */
  close(): Promise<void>;
}

/** StateStore.sync: the calls a synchronous backend answers without a promise. */
export interface SyncStateCalls {
  reserve(requestId: string, partition: string, charges: readonly WindowCharge[]): ReserveResult;
  settle(reservation: WindowReservation, actualAmounts: readonly number[]): boolean;
  release(reservation: WindowReservation): boolean;
  reserveSpend(requestId: string, partition: string, charges: readonly SpendCharge[], estimate: NanoUsd, ttlMs: number): ReserveSpendResult;
  releaseSpend(reservation: SpendReservation): void;
}
