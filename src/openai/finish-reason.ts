import type { FinishReason } from './chat-response.ts';

/**
 * What "OpenAI-compatible" servers put in `finish_reason`, mapped onto OpenAI's five values
 * (`stop`, `length`, `tool_calls`, `content_filter`, `function_call`; openai-spec
 * CreateChatCompletionResponse). Seen in the wild: text-generation-inference `eos_token`,
 * `stop_sequence`, `length`; vLLM/aggregators passing Anthropic's `end_turn`/`max_tokens`/
 * `tool_use` or Gemini's upper-case `STOP`/`MAX_TOKENS`/`SAFETY`; `eos`, `model_length`.
 * Looked up lower-cased.
 */
const MAP: Readonly<Record<string, FinishReason>> = {
  stop: 'stop',
  length: 'length',
  tool_calls: 'tool_calls',
  content_filter: 'content_filter',
  function_call: 'function_call',
  eos: 'stop',
  eos_token: 'stop',
  stop_sequence: 'stop',
  end_turn: 'stop',
  model_length: 'length',
  max_tokens: 'length',
  tool_use: 'tool_calls',
  safety: 'content_filter',
  recitation: 'content_filter',
};

/** A provider-declared failure: the answer is not a completion (case nonstandard-finish-reason). */
export const ERROR_FINISH = 'error';

/**
 * A provider's `finish_reason` as OpenAI spells it: `null` when there is none yet (a stream
 * chunk mid-answer, or a missing value), `'error'` when the provider declared a failure (the
 * caller must get an error, never a 200), otherwise one of the five. An unknown string is `stop`:
 * the provider did end the answer, for a reason we cannot name, and `stop` is the one value
 * that claims nothing more (not truncated, no tool call, nothing filtered). `tool_calls` wins
 * when the choice carries tool calls (as Gemini's mapping does), since callers loop on it.
 */
export function normalizeFinishReason(value: unknown, choice: { hasToolCalls: boolean }): FinishReason | typeof ERROR_FINISH | null {
  if (value === null || value === undefined) return null;
  const key = typeof value === 'string' ? value.trim().toLowerCase() : '';
  if (key === ERROR_FINISH) return ERROR_FINISH;
  const mapped = Object.hasOwn(MAP, key) ? MAP[key] : undefined;
  if (mapped !== undefined) return mapped;
  return choice.hasToolCalls ? 'tool_calls' : 'stop';
}
