import type { Usage } from '../../openai/usage.ts';

/**
 * Anthropic token counts in the shape both the message and the stream report them.
 * Anthropic's input_tokens excludes cache reads and writes, OpenAI's prompt_tokens includes
 * them (wire README 5.6; `Message.usage` doc comment in the Anthropic SDK).
 */
export interface AnthropicCounts {
  input: number;
  cacheCreation: number;
  cacheRead: number;
  output: number;
  thinking?: number;
}

/** Anthropic's usage fields as both `Message.usage` and `message_delta.usage` spell them. */
export interface RawUsage {
  input_tokens?: number | null | undefined;
  output_tokens?: number | null | undefined;
  cache_creation_input_tokens?: number | null | undefined;
  cache_read_input_tokens?: number | null | undefined;
  output_tokens_details?: { thinking_tokens?: number | null | undefined } | null | undefined;
}

/** Overlays the counts `raw` states onto `base`; absent or null fields keep their value. */
export function mergeCounts(base: AnthropicCounts, raw: RawUsage): AnthropicCounts {
  const out: AnthropicCounts = {
    input: raw.input_tokens ?? base.input,
    cacheCreation: raw.cache_creation_input_tokens ?? base.cacheCreation,
    cacheRead: raw.cache_read_input_tokens ?? base.cacheRead,
    output: raw.output_tokens ?? base.output,
  };
  const thinking = raw.output_tokens_details?.thinking_tokens ?? base.thinking;
  if (thinking != null) out.thinking = thinking;
  return out;
}

/** The base that a first usage report overlays. */
export const ZERO_COUNTS: AnthropicCounts = { input: 0, cacheCreation: 0, cacheRead: 0, output: 0 };

/** Anthropic counts in the gateway's OpenAI convention; cachedTokens is always set. */
export function toUsage(c: AnthropicCounts): Usage {
  const usage: Usage = {
    promptTokens: c.input + c.cacheCreation + c.cacheRead,
    completionTokens: c.output,
    cachedTokens: c.cacheRead,
  };
  // Cache writes cost more than input; kept (only when there are any) so that cost can price them.
  if (c.cacheCreation > 0) usage.cacheWriteTokens = c.cacheCreation;
  // Thinking tokens are already inside output_tokens, as reasoning is inside completion_tokens.
  if (c.thinking !== undefined) usage.reasoningTokens = c.thinking;
  return usage;
}
