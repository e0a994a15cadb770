import type { ChatRequest } from '../../openai/chat-request.ts';
import type { ThinkingTurn } from '../dialect.ts';
import { thinkingBudget } from '../reasoning-effort.ts';
import { invalid } from './invalid.ts';
import { loopOpeningIndex, toolUseIds } from './thinking-loop.ts';
import type { ContentBlockParam, MessagesRequest } from './wire-types.ts';

/** Anthropic's smallest thinking budget (https://docs.claude.com/en/docs/build-with-claude/extended-thinking). */
const MIN_BUDGET = 1024;

/**
 * `reasoning_effort` → extended thinking, `thinking: {type: "enabled", budget_tokens}`.
 * Anthropic's rules, checked here so the caller gets a 400 naming its own parameter instead of
 * the provider's: the budget counts against `max_tokens` and must be below it; thinking refuses
 * a changed `temperature`, `top_p` under 0.95 and forced tool use.
 *
 * A request that continues a tool loop needs the signed thinking blocks of the answer that
 * opened the loop, sent back unmodified before its tool calls (thinking-loop.ts). OpenAI
 * messages have no slot for them; the gateway keeps them (src/policy/thinking-step.ts) and
 * passes them in as `kept`. When they are there and belong to exactly that answer's tool calls,
 * they go first in its turn and thinking stays on. Otherwise (expired, kept by a gateway without
 * shared state, a turn another provider answered) thinking is left off for this one request:
 * the model still answers from the tool results. A continuation whose settings thinking refuses
 * is also sent without it rather than refused: without kept blocks it always was.
 */
export function applyThinking(req: ChatRequest, body: MessagesRequest, defaultMaxTokens: number, kept?: ThinkingTurn): void {
  const budget = thinkingBudget(req.reasoning_effort);
  if (!budget) return;
  const opening = loopOpeningIndex(body.messages);
  if (opening !== -1) {
    if (kept === undefined || !sameIds(toolUseIds(body.messages[opening]!), kept.toolCallIds) || refusesThinking(req, body)) return;
    const turn = body.messages[opening]!;
    // Non-empty: the turn called tools. The blocks are copied as they came, nothing else.
    turn.content = [...kept.blocks.map(blockParam), ...(turn.content as ContentBlockParam[])];
  }

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

function refusesThinking(req: ChatRequest, body: MessagesRequest): boolean {
  if (req.temperature != null && req.temperature !== 1) return true;
  if (req.top_p != null && req.top_p < 0.95) return true;
  if (body.tool_choice?.type === 'any' || body.tool_choice?.type === 'tool') return true;
  const callerMax = req.max_completion_tokens ?? req.max_tokens;
  return callerMax != null && callerMax <= MIN_BUDGET;
}

/** Same ids, same order: the kept blocks belong to exactly this answer. */
function sameIds(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

function blockParam(b: ThinkingTurn['blocks'][number]): ContentBlockParam {
  return b.type === 'thinking' ? { type: 'thinking', thinking: b.thinking, signature: b.signature } : { type: 'redacted_thinking', data: b.data };
}
