import type { FinishReason } from '../../openai/chat-response.ts';
import type { Usage } from '../../openai/usage.ts';
import type { UsageMetadata } from './wire-types.ts';

/**
 * Gemini finish reasons and usage → OpenAI (wire README 5.4, 5.6; enums at
 * https://ai.google.dev/api/generate-content#FinishReason).
 */

const CONTENT_FILTER = new Set([
  'SAFETY',
  'RECITATION',
  'LANGUAGE',
  'BLOCKLIST',
  'PROHIBITED_CONTENT',
  'SPII',
  'IMAGE_SAFETY',
  'IMAGE_PROHIBITED_CONTENT',
  'IMAGE_RECITATION',
]);

/**
 * Gemini ends a function-calling turn with STOP (it has no tool-specific reason), so a turn
 * that produced calls reports `tool_calls`. OTHER, MALFORMED_FUNCTION_CALL and unknown future
 * values map to `stop` [README 5.4 policy].
 */
export function mapFinishReason(reason: string | null | undefined, hasToolCalls: boolean): FinishReason {
  if (reason === 'MAX_TOKENS') return 'length';
  if (reason && CONTENT_FILTER.has(reason)) return 'content_filter';
  return hasToolCalls ? 'tool_calls' : 'stop';
}

/**
 * OpenAI counts reasoning inside completion tokens and cached tokens inside prompt tokens;
 * Gemini reports thoughts beside candidates, tool-use prompt tokens beside the prompt, and
 * cached tokens inside the prompt. Zero details are kept because OpenAI always sends them.
 */
export function mapUsage(m: UsageMetadata): Usage {
  const thoughts = m.thoughtsTokenCount ?? 0;
  return {
    promptTokens: (m.promptTokenCount ?? 0) + (m.toolUsePromptTokenCount ?? 0),
    completionTokens: (m.candidatesTokenCount ?? 0) + thoughts,
    cachedTokens: m.cachedContentTokenCount ?? 0,
    reasoningTokens: thoughts,
  };
}
