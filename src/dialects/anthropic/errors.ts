import { UpstreamError } from '../../errors/gateway-error.ts';
import type { HeaderLookup } from '../dialect.ts';
import { scrubSecrets } from '../../lib/scrub.ts';
import { errorBodySchema } from './wire-types.ts';

/**
 * Anthropic errors → gateway errors (wire README 3.5, 5.8; https://docs.claude.com/en/api/errors).
 * Problems with the gateway's own provider account (401/403), routing (404) and provider
 * faults become 502 with gateway-written text that names neither the provider nor the key;
 * only 400/413 pass Anthropic's text on (scrubbed), because it tells the caller what to fix.
 */
export interface AnthropicErrorInfo {
  type: string | undefined;
  message: string | undefined;
}

export function parseAnthropicError(status: number, headers: HeaderLookup, body: Uint8Array): UpstreamError {
  return upstreamError(status, readErrorBody(body), retryAfterSeconds(headers));
}

/** The HTTP status Anthropic documents for each error type, for errors that arrive mid-stream. */
const STATUS_BY_TYPE: Readonly<Record<string, number>> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

/** An `event: error` payload after HTTP 200 (wire README 3.4) → the matching gateway error. */
export function streamError(info: AnthropicErrorInfo): UpstreamError {
  const status = info.type !== undefined && Object.hasOwn(STATUS_BY_TYPE, info.type) ? (STATUS_BY_TYPE[info.type] ?? 500) : 500;
  return upstreamError(status, info, undefined);
}

function upstreamError(status: number, info: AnthropicErrorInfo, retryAfter: number | undefined): UpstreamError {
  const message = info.message === undefined ? '' : scrubSecrets(info.message).trim();
  const cause = { upstreamStatus: status, upstreamType: info.type, upstreamMessage: message };
  const retry = retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter };
  if (status === 529 || info.type === 'overloaded_error') {
    return new UpstreamError(503, 'service_unavailable_error', 'The model is currently overloaded. Please try again later.', {
      code: 'server_is_overloaded',
      cause,
      ...retry,
    });
  }
  switch (status) {
    case 400:
      return badRequest(message, cause);
    case 401:
    case 403:
      return new UpstreamError(502, 'server_error', 'The gateway could not authenticate with the upstream provider.', {
        code: 'upstream_auth_failed',
        cause,
      });
    case 404:
      return new UpstreamError(502, 'server_error', 'The requested model is not available upstream.', { code: 'upstream_not_found', cause });
    case 413:
      return new UpstreamError(413, 'invalid_request_error', message || 'The request is too large.', { code: 'request_too_large', cause });
    case 429:
      return new UpstreamError(429, 'rate_limit_error', rateLimitMessage(retryAfter), { code: 'rate_limit_exceeded', cause, ...retry });
  }
  // Anthropic uses invalid_request_error for 4xx statuses it does not list (wire README 3.5).
  if (status > 400 && status < 500 && info.type === 'invalid_request_error') return badRequest(message, cause);
  return new UpstreamError(502, 'server_error', 'The upstream provider failed to process the request.', { code: 'upstream_error', cause });
}

function badRequest(message: string, cause: unknown): UpstreamError {
  return new UpstreamError(400, 'invalid_request_error', message || 'The request was rejected as invalid.', { cause });
}

function rateLimitMessage(retryAfter: number | undefined): string {
  const base = 'Rate limit reached for this model upstream.';
  if (retryAfter === undefined) return `${base} Please try again later.`;
  return `${base} Please try again in ${Math.max(1, Math.ceil(retryAfter))}s.`;
}

function readErrorBody(body: Uint8Array): AnthropicErrorInfo {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(body));
  } catch {
    // Error bodies from proxies in front of the API (e.g. a 413 page) need not be JSON.
    return { type: undefined, message: undefined };
  }
  const parsed = errorBodySchema.safeParse(value);
  if (!parsed.success) return { type: undefined, message: undefined };
  return { type: parsed.data.error.type, message: parsed.data.error.message };
}

/**
 * Seconds to wait, from `retry-after` (seconds or HTTP date) or the SDK's `retry-after-ms`
 * (wire README 3.5; anthropic-sdk-typescript src/client.ts).
 */
function retryAfterSeconds(headers: HeaderLookup): number | undefined {
  const ms = headers('retry-after-ms')?.trim();
  const value = headers('retry-after')?.trim();
  if (value !== undefined && /^\d+(\.\d+)?$/.test(value)) return Number(value);
  if (value !== undefined && value !== '') {
    const date = Date.parse(value);
    if (Number.isFinite(date)) return Math.max(0, (date - Date.now()) / 1000);
  }
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms)) return Number(ms) / 1000;
  return undefined;
}
