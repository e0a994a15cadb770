import type { UpstreamError } from '../../errors/gateway-error.ts';
import { mapProviderFailure, type ProviderFailureKind } from '../../errors/upstream-mapping.ts';
import { parseRetryAfter } from '../../lib/retry-after.ts';
import type { HeaderLookup } from '../dialect.ts';
import { errorBodySchema } from './wire-types.ts';

/**
 * Anthropic errors → gateway errors (wire README 3.5, 5.8; https://docs.claude.com/en/api/errors).
 * This file only reads Anthropic's body (`{"type":"error","error":{"type","message"}}`) and
 * retry hints; status, type, code and text come from the one table in
 * src/errors/upstream-mapping.ts.
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

/**
 * Where Anthropic's type says more than the status: `overloaded_error` under any status, and
 * `invalid_request_error` for a 4xx Anthropic does not list (wire README 3.5).
 */
function kindOfType(status: number, type: string | undefined): ProviderFailureKind | undefined {
  if (type === 'overloaded_error') return 'overloaded';
  if (type === 'invalid_request_error' && status > 400 && status < 500 && status !== 413 && status !== 429) return 'invalid_request';
  return undefined;
}

function upstreamError(status: number, info: AnthropicErrorInfo, retryAfter: number | undefined): UpstreamError {
  const kind = kindOfType(status, info.type);
  return mapProviderFailure({
    status,
    ...(kind ? { kind } : {}),
    message: info.message,
    retryAfterSeconds: retryAfter,
    cause: { upstreamStatus: status, upstreamType: info.type },
  });
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
  const fromHeader = parseRetryAfter(headers('retry-after'));
  if (fromHeader !== undefined) return fromHeader;
  const ms = headers('retry-after-ms')?.trim();
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms)) return Number(ms) / 1000;
  return undefined;
}
