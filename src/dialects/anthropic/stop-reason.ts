import type { FinishReason } from '../../openai/chat-response.ts';

/**
 * Anthropic `stop_reason` → OpenAI `finish_reason` (wire README 5.4;
 * https://docs.claude.com/en/api/handling-stop-reasons). Unknown future reasons and
 * `pause_turn` (server tools only) read as a normal stop [policy].
 */
const MAP: Readonly<Record<string, FinishReason>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

/** Never fails: anything unknown is `stop`. */
export function finishReasonFor(stopReason: string | null | undefined): FinishReason {
  if (stopReason == null) return 'stop';
  return Object.hasOwn(MAP, stopReason) ? (MAP[stopReason] ?? 'stop') : 'stop';
}
