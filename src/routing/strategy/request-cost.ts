import { costOf } from '../../pricing/cost.ts';
import type { Price } from '../../pricing/types.ts';
import type { RequestFacts } from './types.ts';

/** Reused usage record: costOf only reads it, and routing runs synchronously. */
const usage = { promptTokens: 0, completionTokens: 0, cachedTokens: 0 };

/**
 * What this request is expected to cost on a target, USD (rounded to nano-USD as costOf does):
 * the prompt estimate and the full output limit priced by src/pricing/cost.ts `costOf` with the
 * rates in force at `nowMs` (periods and UTC time-of-day windows, multipliers, long-context
 * tiers). The share of the prompt the target recently served from its prompt cache
 * (`cachedInputShare`, 0..1) is priced at its cache-read rate, the rest at the input rate:
 * repeated prefixes (system prompts, tool lists) are what cache, so a target's recent hit share is
 * the best guess for the next request's; a target without a cache-read price charges it as
 * input. Cache writes are not predicted (one-off, and unknown before the answer). Unlike
 * `estimateCost` (the reservation's upper bound), this is the figure to compare targets by.
 */
export function expectedCostUsd(price: Price, request: RequestFacts, cachedInputShare: number, nowMs: number): number {
  const prompt = Math.max(0, request.promptTokens);
  const share = cachedInputShare > 0 ? Math.min(1, cachedInputShare) : 0;
  usage.promptTokens = prompt;
  usage.completionTokens = Math.max(0, request.maxOutputTokens);
  usage.cachedTokens = Math.round(prompt * share);
  return costOf(price, usage, nowMs).usd;
}
