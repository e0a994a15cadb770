/**
 * What routing knows about one target's recent health: the read side the strategies use
 * (src/routing/strategy/) and the explanation reports. Implemented per process by LocalHealth
 * (src/routing/health/local.ts) and, for a fleet, over the state backend (issue 9).
 *
 * A target is one provider and the provider's model name (`targetKey`): health is per provider
 * *and* model, since one model of a provider can be slow or failing while another is fine.
 */

/** `<provider>/<provider model>`, e.g. `openai/gpt-4o-mini`. */
export type TargetKey = string;

/** No targets: one frozen empty list to share (e.g. a request holding no half-open probe). */
export const NO_TARGETS: readonly TargetKey[] = Object.freeze([]);

export const targetKey = (provider: string, model: string): TargetKey => `${provider}/${model}`;

/** Circuit breaker state (closed: normal; open: skipped until `until`; half-open: one probe may pass). */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** Why a breaker opened (for logs, metrics and explanations). */
export type BreakerReason = 'latency' | 'errors';

export interface TargetHealthSnapshot {
  /**
   * Recent latency, decaying (recent traffic weighs most), ms: time to first token for streams,
   * total time for non-streamed answers. `undefined` when there is no traffic to judge by.
   */
  readonly latencyMs: { readonly stream?: number; readonly json?: number };
  /** p95 of the same over the health window (default 5 min), ms; `undefined` without samples. */
  readonly p95Ms: { readonly stream?: number; readonly json?: number };
  /** Samples behind the figures above, in the health window. */
  readonly samples: number;
  /** Share of failed attempts (5xx, timeouts, resets; not the caller's 4xx) in the window, 0..1. */
  readonly errorRate: number;
  /** Attempts counted in the window (the error rate's volume). */
  readonly attempts: number;
  /** Share of prompt tokens that were cache reads, recent, 0..1 (0 when unknown): for the cost strategy. */
  readonly cachedInputShare: number;
  readonly breaker: BreakerState;
  /** Why the breaker is open or half-open. */
  readonly breakerReason?: BreakerReason;
  /** Epoch ms until which the breaker stays open (state `open`). */
  readonly openUntilMs?: number;
  /** Epoch ms until which the target cools down after a provider 429 (`retry-after`), else undefined. */
  readonly coolingUntilMs?: number;
}

/** A target nobody has measured: healthy, no samples (one frozen object for every read). */
export const UNMEASURED: TargetHealthSnapshot = Object.freeze({
  latencyMs: Object.freeze({}),
  p95Ms: Object.freeze({}),
  samples: 0,
  errorRate: 0,
  attempts: 0,
  cachedInputShare: 0,
  breaker: 'closed',
});

/** The read side: one snapshot per target, cheap (no allocation on the hot path beyond what is cached). */
export interface HealthView {
  /** The target's health at `nowMs` (epoch ms). Unknown targets are healthy with no samples. */
  get(key: TargetKey, nowMs: number): TargetHealthSnapshot;
}
