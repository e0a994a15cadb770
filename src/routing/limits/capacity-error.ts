import { GatewayError, type GatewayErrorOptions } from '../../errors/gateway-error.ts';

/** Longest retry-after the openai SDKs wait for before retrying on their own (as rate-limit-errors.ts). */
const SDK_RETRY_CAP_S = 60;

/**
 * Every target of the request is cooling down after a provider 429 or at its provider limit,
 * and none freed within `routing.health.rateLimited.maxWaitMs`: 429 `rate_limit_error`, code
 * `provider_capacity_exhausted` (the gateway's own key/team limits say `rate_limit_exceeded`
 * with type `requests`/`tokens`; a provider's own 429 passed on says `rate_limit_exceeded` with
 * type `rate_limit_error`). The text names neither provider nor account.
 *
 * `retryAfterMs`: when the earliest target frees (its cool-down's end or its window's reset), ms
 * from now; sent as `retry-after` (seconds, rounded up, at least 1) and `retry-after-ms` (the
 * openai SDKs read it first). Over 60 s, or unknown (null: no target can ever take this request,
 * e.g. its token estimate alone is above every target's tokens per minute), `x-should-retry:
 * false`, since the SDKs' automatic retry would come back too early, in vain; else `true`.
 */
export class ProviderCapacityError extends GatewayError {
  readonly status = 429;
  readonly openaiType = 'rate_limit_error' as const;

  constructor(
    model: string,
    readonly retryAfterMs: number | null,
    /** How long the request waited before this answer, ms. */
    readonly waitedMs: number,
  ) {
    const options: GatewayErrorOptions = { code: 'provider_capacity_exhausted' };
    let message: string;
    if (retryAfterMs === null || !Number.isFinite(retryAfterMs)) {
      message = `No provider of ${model} can take this request within its rate limits: the request is larger than their tokens per minute.`;
      options.headers = { 'x-should-retry': 'false' };
    } else {
      const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
      message = `Every provider of ${model} is at its rate limit. Please try again in ${seconds}s.`;
      options.retryAfterSeconds = seconds;
      options.headers = { 'retry-after-ms': String(Math.max(0, Math.ceil(retryAfterMs))), 'x-should-retry': seconds > SDK_RETRY_CAP_S ? 'false' : 'true' };
    }
    super(message, options);
  }
}
