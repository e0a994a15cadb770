/**
 * A price per million tokens (USD), flat or tiered by the request's prompt size: the tier whose
 * `start` the prompt tokens exceed sets the rate for every token of that kind (genai-prices'
 * TieredPrices, e.g. Anthropic's and Gemini's long-context rates above 200,000 prompt tokens).
 */
export type Rate = number | { readonly base: number; readonly tiers: readonly { readonly start: number; readonly price: number }[] };

/** What one kind of token costs, USD per million tokens, plus a per-request fee in USD. */
export interface TokenRates {
  /** Prompt tokens that were neither read from nor written to a cache. */
  readonly input: Rate;
  /** Cache reads (OpenAI `cached_tokens`, Anthropic `cache_read_input_tokens`); undefined: priced as input. */
  readonly cacheRead: Rate | undefined;
  /** Cache writes (Anthropic `cache_creation_input_tokens`); undefined: priced as input. */
  readonly cacheWrite: Rate | undefined;
  readonly output: Rate;
  /** A flat fee per request (genai-prices `requests_kcount` / 1000), USD; usually 0. */
  readonly perRequestUsd: number;
}

/** When a period's rates apply; `daily` is a UTC time-of-day window [startSec, endSec), wrapping midnight when end < start. */
export type PeriodWhen =
  | { readonly kind: 'always' }
  | { readonly kind: 'since'; readonly ms: number }
  | { readonly kind: 'daily'; readonly startSec: number; readonly endSec: number };

export interface PricePeriod {
  readonly when: PeriodWhen;
  readonly rates: TokenRates;
}

/** A UTC time-of-day window in which the computed cost is multiplied (an off-peak discount over catalogue prices). */
export interface CostMultiplier {
  readonly startSec: number;
  readonly endSec: number;
  readonly multiplier: number;
}

/**
 * The compiled price of one target (a provider model as one public model uses it). Built once
 * at config load (src/pricing/resolve.ts); the hot path only selects a period and multiplies.
 */
export interface Price {
  /** Marked `free: true` in gateway.yaml: costs nothing, whatever the usage. */
  readonly free: boolean;
  /** Where the price comes from, for messages and docs: `catalogue openai/gpt-4o-mini` (bundled), `price file /etc/p.json: openai/gpt-4o-mini` (refreshed), `gateway.yaml models.m.pricing`, `free (…)`. */
  readonly source: string;
  /**
   * The rates over time, in genai-prices' order: the last period whose condition holds applies,
   * an `always` period ends the search, and when none holds the first applies.
   */
  readonly periods: readonly PricePeriod[];
  readonly multipliers: readonly CostMultiplier[];
  /** The provider model's context window, tokens, from the catalogue (also under an override or a free price); undefined when the catalogue does not know it. */
  readonly contextWindow?: number | undefined;
}

/**
 * Token counts in the gateway's convention (src/openai/usage.ts, OpenAI's): `cachedTokens` and
 * `cacheWriteTokens` are parts of `promptTokens`, never added to it.
 */
export interface TokenUsage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly cachedTokens?: number | undefined;
  readonly cacheWriteTokens?: number | undefined;
}

/** A cost in USD: `nanoUsd` is the integer budgets store, `usd` is exactly `nanoUsd / 1e9`. */
export interface Cost {
  readonly usd: number;
  readonly nanoUsd: number;
}
