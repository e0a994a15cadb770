import { InvalidRequestError } from '../errors/gateway-error.ts';

/**
 * OpenAI `reasoning_effort` → a thinking budget in tokens, for providers that take a budget
 * instead of a level (Anthropic `thinking.budget_tokens`, Gemini `thinkingConfig.thinkingBudget`).
 * There is no 1:1 mapping (wire README 5.1); these are the budgets Google's own OpenAI-compatible
 * endpoint uses for low/medium/high (https://ai.google.dev/gemini-api/docs/openai#thinking), with
 * `minimal` at Anthropic's floor of 1024 and `xhigh` one step above `high`. `none` turns thinking off.
 */
const BUDGETS: Readonly<Record<string, number>> = {
  none: 0,
  minimal: 1024,
  low: 1024,
  medium: 8192,
  high: 24576,
  xhigh: 32768,
};

/** undefined when the caller did not ask; 0 for `none`; throws a 400 on an unknown value. */
export function thinkingBudget(effort: unknown): number | undefined {
  if (effort === undefined || effort === null) return undefined;
  const budget = typeof effort === 'string' ? BUDGETS[effort] : undefined;
  if (budget === undefined) {
    throw new InvalidRequestError(`reasoning_effort must be one of ${Object.keys(BUDGETS).map((k) => `"${k}"`).join(', ')}.`, { param: 'reasoning_effort' });
  }
  return budget;
}
