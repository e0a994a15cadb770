import { UpstreamError } from '../../errors/gateway-error.ts';
import type { HeaderLookup } from '../dialect.ts';
import { errorBodySchema, type GeminiErrorBody } from './wire-types.ts';
import { scrubSecrets } from '../../lib/scrub.ts';

/**
 * Gemini error bodies → UpstreamError (wire README 4.5, 5.8; status table at
 * https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes).
 * Failures of the gateway's own credentials or routing (401/403, invalid key, 404) become 502
 * with a generic message: the caller did nothing wrong and must not learn provider details.
 */

type GeminiError = GeminiErrorBody['error'];


function detailsOf(error: GeminiError | undefined, typeSuffix: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const d of error?.details ?? []) {
    if (typeof d !== 'object' || d === null) continue;
    const type = (d as Record<string, unknown>)['@type'];
    if (typeof type === 'string' && type.endsWith(typeSuffix)) out.push(d as Record<string, unknown>);
  }
  return out;
}

/** `google.rpc.RetryInfo.retryDelay` is a proto Duration in JSON: "34s", "1.5s". */
function retryDelaySeconds(error: GeminiError | undefined): number | undefined {
  for (const info of detailsOf(error, 'google.rpc.RetryInfo')) {
    const delay = info.retryDelay;
    const match = typeof delay === 'string' ? /^(\d+(?:\.\d+)?)s$/.exec(delay) : null;
    if (match?.[1]) return Number(match[1]);
  }
  return undefined;
}

/** `Retry-After` as delta-seconds or an HTTP date (RFC 9110 10.2.3). */
function retryAfterHeader(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  const when = Date.parse(trimmed);
  return Number.isNaN(when) ? undefined : Math.max(0, (when - Date.now()) / 1000);
}

function isCredentialFailure(status: number, error: GeminiError | undefined): boolean {
  if (status === 401 || status === 403) return true;
  const reasons = detailsOf(error, 'google.rpc.ErrorInfo').map((d) => d.reason);
  return reasons.some((r) => typeof r === 'string' && r.startsWith('API_KEY')) || /API key not valid/i.test(error?.message ?? '');
}

/** Maps one Gemini error (HTTP status + decoded body, if any) to what the caller sees. */
export function upstreamErrorFrom(status: number, error: GeminiError | undefined, retryAfter?: string): UpstreamError {
  const message = scrubSecrets(error?.message?.trim() || `The upstream service returned HTTP ${status}.`);
  const retryAfterSeconds = retryAfterHeader(retryAfter) ?? retryDelaySeconds(error);
  const retry = retryAfterSeconds === undefined ? {} : { retryAfterSeconds };
  const cause = { status, error };
  if (isCredentialFailure(status, error)) {
    return new UpstreamError(502, 'api_error', 'The gateway could not authenticate with its upstream service.', {
      code: 'upstream_auth_failed',
      cause,
    });
  }
  switch (status) {
    case 400:
      return new UpstreamError(400, 'invalid_request_error', message, { cause });
    case 404:
      return new UpstreamError(502, 'api_error', 'The upstream model is not available.', { code: 'upstream_not_found', cause });
    case 408:
    case 504:
      return new UpstreamError(504, 'timeout_error', message, { cause });
    case 413:
      return new UpstreamError(413, 'invalid_request_error', message, { code: 'request_too_large', cause });
    case 429:
      return new UpstreamError(429, 'rate_limit_error', message, { code: 'rate_limit_exceeded', cause, ...retry });
    case 503:
      return new UpstreamError(503, 'service_unavailable_error', message, { code: 'server_is_overloaded', cause, ...retry });
  }
  // Other 4xx describe the request; 499 CANCELLED, 500 INTERNAL and the rest are upstream failures.
  if (status >= 400 && status < 499) return new UpstreamError(400, 'invalid_request_error', message, { cause });
  return new UpstreamError(502, 'server_error', message, { cause });
}

/** The `error` object of a Gemini error body, if `value` is one. */
export function geminiErrorOf(value: unknown): GeminiError | undefined {
  const parsed = errorBodySchema.safeParse(value);
  return parsed.success ? parsed.data.error : undefined;
}

/** Dialect.parseError: any body (JSON or not) and status → UpstreamError. */
export function parseGeminiError(status: number, headers: HeaderLookup, body: Uint8Array): UpstreamError {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(body));
  } catch {
    value = undefined; // non-JSON bodies (proxies, HTML) still map by status alone
  }
  return upstreamErrorFrom(status, geminiErrorOf(value), headers('retry-after'));
}

/** A 200 response the gateway cannot read: the provider broke its contract, not the caller. */
export function malformedUpstream(detail: string, cause?: unknown): UpstreamError {
  return new UpstreamError(502, 'api_error', 'The upstream service returned a malformed response.', {
    code: 'bad_upstream_response',
    cause: { detail, cause },
  });
}
