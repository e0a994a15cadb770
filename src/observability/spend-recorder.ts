import type { SpendBucket, SpendHistoryStore } from '../state/spend-history.ts';
import { hourOf } from '../state/spend-history.ts';
import type { Logger } from './logger.ts';
import { throttledWarn } from './throttled-warn.ts';

/** One finished request as the spend history counts it. */
export interface SpendEntry {
  team: string;
  provider: string;
  model: string;
  tokensIn: number;
  tokensOut: number;
  tokensCached: number;
  /** Integer nano-USD. */
  nanoUsd: number;
  /** When it finished, epoch ms (its hour is its bucket). */
  at: number;
}

export interface SpendRecorderOptions {
  store: SpendHistoryStore;
  /** How long the store keeps an hour's buckets after the hour, ms (gateway.yaml `observability.spendHistory.keepDays`). */
  keepMs: () => number;
  log: Pick<Logger, 'warn'>;
  /** How often the batch goes to the store, ms. Default 1000. */
  flushMs?: number;
  /** Most distinct buckets held while the store is down; amounts for new ones beyond it are dropped (and logged). Default 10,000. */
  maxPending?: number;
}

/**
 * Adds each finished request to an in-memory batch of hourly buckets and writes the batch to
 * the state backend every `flushMs` (one write per hour touched, not one per request: the
 * request path only adds to a map). A failed write keeps the amounts for the next flush, up to
 * `maxPending` buckets; a crash loses at most the last batch. close() writes what is left.
 */
export class SpendRecorder {
  private pending = new Map<string, SpendBucket>();
  /** Started by the first record(): a gateway that fails to start, or serves nothing, leaves no timer. */
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private flushing: Promise<void> | undefined;
  private readonly warn: (fields: object) => void;
  private readonly maxPending: number;

  constructor(private readonly opts: SpendRecorderOptions) {
    this.maxPending = opts.maxPending ?? 10_000;
    this.warn = throttledWarn(opts.log, 'spend history write failed; the amounts are kept for the next try');
  }

  record(e: SpendEntry): void {
    if (this.timer === undefined && !this.closed) this.timer = setInterval(() => void this.flush(), this.opts.flushMs ?? 1000).unref();
    const hour = hourOf(e.at);
    // \u0000 cannot occur in a team, provider or model name (each a restricted label).
    const key = `${hour}\u0000${e.team}\u0000${e.provider}\u0000${e.model}`;
    let b = this.pending.get(key);
    if (!b) {
      if (this.pending.size >= this.maxPending) {
        this.warn({ dropped_team: e.team, pending_buckets: this.pending.size });
        return;
      }
      b = { hour, team: e.team, provider: e.provider, model: e.model, requests: 0, tokensIn: 0, tokensOut: 0, tokensCached: 0, nanoUsd: 0 };
      this.pending.set(key, b);
    }
    b.requests += 1;
    b.tokensIn += e.tokensIn;
    b.tokensOut += e.tokensOut;
    b.tokensCached += e.tokensCached;
    b.nanoUsd += e.nanoUsd;
  }

  /** Writes the batch now (one write at a time); resolves when it is stored or kept for later. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    this.flushing = this.opts.store
      .addSpendHistory([...batch.values()], this.opts.keepMs())
      .catch((err: unknown) => {
        this.warn({ err, pending_buckets: batch.size });
        // Put the amounts back under what arrived since.
        for (const [key, b] of batch) {
          const now = this.pending.get(key);
          if (!now) {
            if (this.pending.size < this.maxPending) this.pending.set(key, b);
            continue;
          }
          now.requests += b.requests;
          now.tokensIn += b.tokensIn;
          now.tokensOut += b.tokensOut;
          now.tokensCached += b.tokensCached;
          now.nanoUsd += b.nanoUsd;
        }
      })
      .finally(() => (this.flushing = undefined));
    await this.flushing;
  }

  /** Stops the timer and writes what is left (before the state store closes). */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.flush();
  }
}

