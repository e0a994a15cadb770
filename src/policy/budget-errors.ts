import { GatewayError, type GatewayErrorOptions } from '../errors/gateway-error.ts';
import { formatUsd } from '../pricing/cost.ts';
import type { BudgetRule } from './budget-config.ts';

/** Longest retry-after the SDKs wait for on their own (the openai SDKs honour up to 60 s). */
const SDK_RETRY_CAP_S = 60;

/**
 * A budget's hard limit leaves no room for this request on any target it may use: 429,
 * type `insufficient_quota` (OpenAI's type for a spent quota), code `budget_exceeded`. The
 * message names the caller's own budget (key, feature or team: never another team's), its limit
 * and period, and when it resets (the period's end, ISO 8601 UTC); `retry-after` is the seconds
 * until then. When that is over a minute, `x-should-retry: false` stops the SDKs' automatic
 * retries, which could not succeed.
 */
export class BudgetExceededError extends GatewayError {
  readonly status = 429;
  readonly openaiType = 'insufficient_quota' as const;
  /** The refused budget's state-layer subject (for logs). */
  readonly subject: string;

  constructor(args: { rule: BudgetRule; model: string; resetAtMs: number; nowMs: number }) {
    const { rule, model, resetAtMs, nowMs } = args;
    const resetAt = new Date(resetAtMs).toISOString().replace('.000Z', 'Z');
    const retryAfterSeconds = Math.max(1, Math.ceil((resetAtMs - nowMs) / 1000));
    const options: GatewayErrorOptions = { code: 'budget_exceeded', retryAfterSeconds };
    if (retryAfterSeconds > SDK_RETRY_CAP_S) options.headers = { 'x-should-retry': 'false' };
    super(
      `Budget exceeded for ${rule.describe}: the limit of ${formatUsd(rule.limitNanoUsd)} USD per ${rule.period} (UTC) ` +
        `leaves no room for a request to ${model}. It resets at ${resetAt}.`,
      options,
    );
    this.subject = rule.subject;
  }
}
