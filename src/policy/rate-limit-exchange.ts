import type { Exchange } from '../exchange/exchange.ts';
import { estimatePromptTokens } from '../exchange/stream-settlement.ts';
import type { ChatRequest } from '../openai/chat-request.ts';
import type { RateLimitView } from './rate-limit.ts';

/**
 * Tokens a request reserves against token limits before any provider counted them: the input
 * estimate (characters / 4, the house rule: src/lib/token-estimate.ts, over messages, tools and
 * response_format; src/exchange/stream-settlement.ts) plus the output limit the caller set
 * (`max_completion_tokens`, else `max_tokens`), else the model's `defaultMaxTokens`, times `n`
 * (each choice may use the whole limit). Settlement replaces it with what the provider reported.
 */
export function requestTokenEstimate(request: ChatRequest, defaultMaxTokens: number, promptTokens: number = estimatePromptTokens(request)): number {
  return promptTokens + requestOutputTokens(request, defaultMaxTokens);
}

/**
 * The most output tokens a request may produce, tokens: its output limit (`max_completion_tokens`,
 * else `max_tokens`, else the model's `defaultMaxTokens`) times `n`. What the rate-limit and
 * budget reservations and the `cost` routing strategy price the output at.
 */
export function requestOutputTokens(request: ChatRequest, defaultMaxTokens: number): number {
  return (request.max_completion_tokens ?? request.max_tokens ?? defaultMaxTokens) * (request.n ?? 1);
}

/**
 * The rate-limit step's view of an Exchange: after authentication and model resolution. Read
 * synchronously when the step's admit starts (it runs concurrently with the budget step,
 * src/policy/index.ts), so the token reservation is estimated on the model the caller asked for
 * (its `defaultMaxTokens`), never on a degrade target the budget step may switch `ex.model` to
 * after its own reserve; settlement then counts what the serving model really used.
 */
export function exchangeRateLimitView(ex: Exchange): RateLimitView | undefined {
  const { caller, request, model } = ex;
  if (!caller || !request || !model) return undefined;
  const defaultMaxTokens = model.defaultMaxTokens;
  return {
    requestId: ex.id,
    caller,
    policy: ex.config.rateLimits,
    model: model.name,
    tokenEstimate: () => requestTokenEstimate(request, defaultMaxTokens, ex.promptTokenEstimate()),
  };
}
