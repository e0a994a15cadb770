import { GatewayError, type GatewayErrorOptions } from '../errors/gateway-error.ts';
import type { LimitRule } from './rate-limit-config.ts';
import { formatResetDuration, refusedHeaders } from './rate-limit-headers.ts';

/**
 * A gateway rate limit refused the request: 429 in OpenAI's own shape for its limits
 * (shared/wire/openai/error_rate_limit.json): `type` the unit (`requests` or `tokens`), `code`
 * `rate_limit_exceeded`, the text "Rate limit reached for <model> ... on tokens per min (TPM):
 * Limit L, Used U, Requested R. Please try again in 6s.", with `retry-after` (whole seconds,
 * rounded up) and the refused limit's `x-ratelimit-*` triple.
 *
 * A request that can never fit (its own amount exceeds the limit) gets OpenAI's "Request too
 * large" text, no `retry-after` and `x-should-retry: false` (the SDKs would otherwise retry a
 * 429 that waiting cannot fix); a wait over 60 s (a day window) also gets `x-should-retry:
 * false`, since the SDKs would retry sooner than that, in vain.
 */
/** Longest retry-after the openai SDKs wait for before retrying on their own. */
const SDK_RETRY_CAP_S = 60;

export class RateLimitExceededError extends GatewayError {
  readonly status = 429;
  readonly openaiType: 'requests' | 'tokens';
  /** The refused limit's counter (for logs). */
  readonly counter: string;

  constructor(args: { rule: LimitRule; model: string; used: number; requested: number; retryAfterMs: number | null }) {
    const { rule, model, used, requested, retryAfterMs } = args;
    const headers = refusedHeaders(rule, used, retryAfterMs);
    const options: GatewayErrorOptions = { code: 'rate_limit_exceeded', headers };
    let message: string;
    if (retryAfterMs === null) {
      message =
        `Request too large for ${model} for ${rule.subject} on ${rule.description}: Limit ${rule.limit}, Requested ${requested}. ` +
        'The input or output tokens must be reduced in order to run successfully.';
      options.headers = { ...headers, 'x-should-retry': 'false' };
    } else {
      message =
        `Rate limit reached for ${model} for ${rule.subject} on ${rule.description}: Limit ${rule.limit}, Used ${used}, Requested ${requested}. ` +
        `Please try again in ${formatResetDuration(retryAfterMs)}.`;
      options.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
      // The openai SDKs honour retry-after up to 60 s and retry sooner otherwise, in vain.
      if (options.retryAfterSeconds > SDK_RETRY_CAP_S) options.headers = { ...headers, 'x-should-retry': 'false' };
    }
    super(message, options);
    this.openaiType = rule.unit;
    this.counter = rule.counter;
  }
}

/**
 * The state backend could not check a limit and the policy is `fail-closed`: 503
 * `service_unavailable_error`, code `state_unavailable`, `retry-after: 1` (Redis reconnects
 * within about a second; the SDKs retry a 503). The cause (StateUnavailableError) is for logs.
 */
export class StateUnavailableRefusal extends GatewayError {
  readonly status = 503;
  readonly openaiType = 'service_unavailable_error' as const;

  constructor(concern: string, cause: unknown) {
    super(`The gateway cannot check ${concern} right now. Retry later.`, { code: 'state_unavailable', retryAfterSeconds: 1, cause });
  }
}
