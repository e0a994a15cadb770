import type { Price } from '../../pricing/types.ts';
import type { HealthView, TargetKey } from '../health/view.ts';
import type { CompiledRouting } from './compile.ts';
import type { RoutingStrategy } from './routing-schema.ts';

/** One of a model's targets as routing sees it (config order = index). */
export interface RoutingTarget {
  readonly key: TargetKey;
  /** The target's compiled price (src/pricing/resolve.ts). */
  readonly price: Price;
}

/** What routing needs to know about the request. */
export interface RequestFacts {
  /** `stream: true`: latency means time to first token, else total time. */
  readonly stream: boolean;
  /** Prompt size estimate, tokens (src/lib/token-estimate.ts). */
  readonly promptTokens: number;
  /** The request's output limit, or the model's default when it sets none, tokens. */
  readonly maxOutputTokens: number;
}

export interface OrderInput {
  /** The model's targets, config order, at most 8. */
  readonly targets: readonly RoutingTarget[];
  /** Bit i set: target i can serve this request (src/routing/request-plan.ts's capability mask). */
  readonly servable: number;
  readonly request: RequestFacts;
  /** Epoch ms: health is read and prices are chosen (time-of-day windows, UTC) at this instant. */
  readonly nowMs: number;
  readonly health: HealthView;
  readonly routing: CompiledRouting;
  /** Uniform in [0, 1): the band shuffle and weighted draws. */
  readonly random: () => number;
  /**
   * Asks for the half-open probe of a target; true for exactly one caller per probe (the health
   * side's `tryProbe(key, nowMs)`, bound to now). Called only for a half-open target that this
   * request would otherwise place in its order.
   */
  readonly tryProbe: (key: TargetKey) => boolean;
  /**
   * Bit i set: target i is at its provider limit for this request (src/routing/limits/): left out
   * of the order like a target that cannot serve, reported as `limit`. Default none.
   */
  readonly limited?: number;
}

/**
 * Why a target is not in the order, or is only in it as a fallback: `capability` (not in the
 * servable mask), `breaker` (open, or half-open with its probe taken), `cooling` (after a
 * provider 429), `sla` (recent p95 above `latencySlaMs`), `price` (estimate above `maxPriceUsd`),
 * `limit` (its provider limit, requests or tokens per minute, has no room for the request:
 * src/routing/limits/).
 */
export type SkipReason = 'capability' | 'breaker' | 'cooling' | 'sla' | 'price' | 'limit';

/** A constraint no target in the order meets (best-available routed anyway). */
export type UnmetConstraint = 'sla' | 'price';

/** What the score of each strategy is: config position (1-based), weight, latency in ms, cost estimate in USD. */
export type ScoreUnit = 'position' | 'weight' | 'ms' | 'usd';

export interface CandidateExplanation {
  readonly index: number;
  readonly key: TargetKey;
  /** Attempt number, 1-based. */
  readonly attempt: number;
  /** In `scoreUnit`; undefined for a latency target without samples. */
  readonly score: number | undefined;
  /** Set when the target is in the order only because nothing better could serve. */
  readonly fallback?: { readonly reasons: readonly SkipReason[]; readonly detail: string };
}

export interface SkippedExplanation {
  readonly index: number;
  readonly key: TargetKey;
  readonly reasons: readonly SkipReason[];
  /** Human-readable figures behind the reasons, e.g. `p95 2300 ms > SLA 2000 ms`. */
  readonly detail: string;
  readonly score: number | undefined;
}

export interface RoutingExplanation {
  readonly strategy: RoutingStrategy;
  readonly scoreUnit: ScoreUnit;
  /** Candidates in attempt order. */
  readonly candidates: readonly CandidateExplanation[];
  readonly skipped: readonly SkippedExplanation[];
  readonly unmet: readonly UnmetConstraint[];
  readonly refusal: RoutingRefusal | undefined;
}

/**
 * No order: `capability` (no target can serve the request; the caller has its CapabilityError)
 * or `unmet` (constraints with `onUnmet: refuse` that no target meets), or `limit` (every servable
 * target at its provider limit: the provider-limit step's 429). The lead maps it to an
 * OpenAI error; `message` names the constraint and the best figure seen.
 */
export interface RoutingRefusal {
  readonly reason: 'capability' | 'unmet' | 'limit';
  readonly unmet: readonly UnmetConstraint[];
  readonly message: string;
}
