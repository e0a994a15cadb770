import type { OpenAIUsage } from './chat-response.ts';

/** Token counts in OpenAI's convention: cached ⊆ prompt, reasoning ⊆ completion. */
export interface Usage {
  promptTokens: number;
  completionTokens: number;
  cachedTokens?: number;
  /** Prompt tokens written to the provider's cache (Anthropic `cache_creation_input_tokens`), ⊆ prompt; priced apart (src/pricing/cost.ts). */
  cacheWriteTokens?: number;
  reasoningTokens?: number;
}

export function toOpenAIUsage(u: Usage): OpenAIUsage {
  const out: OpenAIUsage = {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
  };
  if (u.cachedTokens !== undefined) out.prompt_tokens_details = { cached_tokens: u.cachedTokens };
  if (u.reasoningTokens !== undefined) out.completion_tokens_details = { reasoning_tokens: u.reasoningTokens };
  return out;
}

/**
 * `out` with OpenRouter's `cost` (USD) added when `costOf` is given (a key that opted in,
 * src/pricing/usage-cost.ts); `usage` is the same usage in the gateway's terms.
 */
export function withCost(out: OpenAIUsage, usage: Usage, costOf: ((usage: Usage) => number) | undefined): OpenAIUsage {
  if (costOf) out.cost = costOf(usage);
  return out;
}

export function fromOpenAIUsage(u: Partial<OpenAIUsage> | null | undefined): Usage | undefined {
  if (!u || typeof u.prompt_tokens !== 'number') return undefined;
  const usage: Usage = { promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens ?? 0 };
  const cached = u.prompt_tokens_details?.cached_tokens;
  if (typeof cached === 'number') usage.cachedTokens = cached;
  // Newer OpenAI-compatible usage: cache writes, like cached_tokens a part of prompt_tokens (wire README §5.6).
  const written = (u.prompt_tokens_details as { cache_write_tokens?: unknown } | undefined)?.cache_write_tokens;
  if (typeof written === 'number' && written > 0) usage.cacheWriteTokens = written;
  const reasoning = u.completion_tokens_details?.reasoning_tokens;
  if (typeof reasoning === 'number') usage.reasoningTokens = reasoning;
  return usage;
}
