import type { ChatCompletion } from '../../openai/chat-response.ts';
import { fromOpenAIUsage, type Usage } from '../../openai/usage.ts';

/**
 * What a hit avoided: the tokens the stored answer's usage reports (what the provider billed
 * when it was made) and what they would cost now. A hit itself is charged nothing against
 * budgets or token windows; this is only counted and logged.
 */
export interface CacheSaving {
  readonly usage: Usage;
  /** USD at the model's current price; undefined when no price is known. */
  readonly costUsd: number | undefined;
}

/** `priceOf`: the pricing module's cost in USD of `usage` on this model, or undefined. */
export function cacheSaving(completion: ChatCompletion, priceOf: (usage: Usage) => number | undefined): CacheSaving | undefined {
  const usage = fromOpenAIUsage(completion.usage);
  return usage ? { usage, costUsd: priceOf(usage) } : undefined;
}

/**
 * Metric names for src/metrics/metrics.ts to define (Prometheus conventions: `_total`
 * counters, units in the name). Labels: `model` (public), `team`.
 */
export const CACHE_METRICS = {
  /** Counter; `result`: hit | miss | bypass (the `x-gateway-cache` value). */
  requests: 'gateway_cache_requests_total',
  /** Counter; `reason`: CacheBypassReason (cache-policy.ts). */
  bypasses: 'gateway_cache_bypass_total',
  /** Counter; `type`: input | output. Tokens the hits did not spend. */
  savedTokens: 'gateway_cache_saved_tokens_total',
  /** Counter; USD the hits did not spend, at current prices. */
  savedCost: 'gateway_cache_saved_cost_usd_total',
  /** Counter; answers written. */
  stores: 'gateway_cache_stores_total',
  /** Counter; `reason`: NotStoredReason (cache-entry.ts). Eligible answers not written. */
  storeSkipped: 'gateway_cache_store_skipped_total',
  /** Counter; `op`: get | set. Store faults (the cache fails open). */
  storeErrors: 'gateway_cache_store_errors_total',
} as const;
