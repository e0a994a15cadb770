import type { OpenAIUsage } from './chat-response.ts';

/** A token count the gateway can stand behind: a non-negative integer, else nothing. */
function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/** `*_tokens_details` keeps only its integer counts (every count the schema defines is one). */
function details(value: unknown): Record<string, number> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const out: Record<string, number> = {};
  for (const [key, v] of Object.entries(value)) {
    const n = count(v);
    if (n !== undefined) out[key] = n;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * A provider's `usage` object as OpenAI's CompletionUsage, or `undefined` when it cannot be
 * stood behind. Counts must be non-negative integers; a missing or null `prompt_tokens` or
 * `completion_tokens` is derived from `total_tokens` when the other two are known, and
 * otherwise the whole object is left out (never a null, never a guessed zero).
 * `total_tokens` is always `prompt_tokens + completion_tokens`, as OpenAI defines it.
 */
export function sanitizeUsage(raw: unknown): OpenAIUsage | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const u = raw as Record<string, unknown>;
  let prompt = count(u['prompt_tokens']);
  let completion = count(u['completion_tokens']);
  const total = count(u['total_tokens']);
  if (prompt === undefined && completion !== undefined && total !== undefined && total >= completion) prompt = total - completion;
  if (completion === undefined && prompt !== undefined && total !== undefined && total >= prompt) completion = total - prompt;
  if (prompt === undefined || completion === undefined) return undefined;
  const out: OpenAIUsage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  const promptDetails = details(u['prompt_tokens_details']);
  if (promptDetails) out.prompt_tokens_details = promptDetails;
  const completionDetails = details(u['completion_tokens_details']);
  if (completionDetails) out.completion_tokens_details = completionDetails;
  return out;
}
