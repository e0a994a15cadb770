import type { ChatRequest } from '../../openai/chat-request.ts';
import { thinkingBudget } from '../reasoning-effort.ts';
import { invalid } from './invalid.ts';
import type { MessagesRequest } from './wire-types.ts';

/** Anthropic's smallest thinking budget (https://docs.claude.com/en/docs/build-with-claude/extended-thinking). */
const MIN_BUDGET = 1024;

/**
 * `reasoning_effort` → extended thinking, `thinking: {type: "enabled", budget_tokens}`.
 * Anthropic's rules, checked here so the caller gets a 400 naming its own parameter instead of
 * the provider's: the budget counts against `max_tokens` and must be below it; thinking refuses
 * a changed `temperature`, `top_p` under 0.95 and forced tool use.
 *
 * One case is degraded rather than refused: a request that continues a tool loop (its last
 * assistant turn called tools). Anthropic then wants that turn's thinking block back, signed,
 * and OpenAI messages have no slot for it, so thinking is left off for that one request (the
 * model still answers from the tool results).
 */
export function applyThinking(req: ChatRequest, body: MessagesRequest, defaultMaxTokens: number): void {
  const budget = thinkingBudget(req.reasoning_effort);
  if (!budget) return;
  if (continuesToolLoop(body)) return;

  if (req.temperature != null && req.temperature !== 1) {
    throw invalid('temperature', 'temperature cannot be changed together with reasoning_effort on this model; leave it unset or 1.');
  }
  if (req.top_p != null && req.top_p < 0.95) throw invalid('top_p', 'top_p must be at least 0.95 together with reasoning_effort on this model.');
  if (body.tool_choice?.type === 'any' || body.tool_choice?.type === 'tool') {
    throw invalid('tool_choice', 'Only "auto" and "none" tool choices are supported together with reasoning_effort on this model.');
  }

  const callerMax = req.max_completion_tokens ?? req.max_tokens;
  if (callerMax == null) {
    // The default is the room for the visible answer; thinking gets its budget on top.
    body.max_tokens = defaultMaxTokens + budget;
    body.thinking = { type: 'enabled', budget_tokens: budget };
    return;
  }
  if (callerMax <= MIN_BUDGET) {
    const param = req.max_completion_tokens != null ? 'max_completion_tokens' : 'max_tokens';
    throw invalid(param, `${param} must be above ${MIN_BUDGET} together with reasoning_effort on this model (it includes the thinking tokens).`);
  }
  // OpenAI's max_completion_tokens already includes reasoning tokens, like Anthropic's max_tokens.
  body.thinking = { type: 'enabled', budget_tokens: Math.min(budget, callerMax - 1) };
}

function continuesToolLoop(body: MessagesRequest): boolean {
  for (let i = body.messages.length - 1; i >= 0; i--) {
    const m = body.messages[i]!;
    if (m.role !== 'assistant') continue;
    return Array.isArray(m.content) && m.content.some((b) => b.type === 'tool_use');
  }
  return false;
}
