import type { UpstreamError } from '../../errors/gateway-error.ts';
import { mapProviderFailure, upstreamMalformed } from '../../errors/upstream-mapping.ts';
import { parseRetryAfter } from '../../lib/retry-after.ts';
import type { HeaderLookup } from '../dialect.ts';
import { errorBodySchema, type GeminiErrorBody } from './wire-types.ts';

/**
 * Gemini error bodies → UpstreamError (wire README 4.5, 5.8; status table at
 * https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes). Reads the body and the
 * retry hints; status, type, code and text come from the shared table.
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

function isCredentialFailure(error: GeminiError | undefined): boolean {
  const reasons = detailsOf(error, 'google.rpc.ErrorInfo').map((d) => d.reason);
  return reasons.some((r) => typeof r === 'string' && r.startsWith('API_KEY')) || /API key not valid/i.test(error?.message ?? '');
}

/**
 * Maps one Gemini error (HTTP status, or `error.code` inside a 200 stream, + decoded body) to
 * what the caller sees, by the one table in src/errors/upstream-mapping.ts. Only one thing is
 * Gemini's own: an invalid API key arrives as 400 INVALID_ARGUMENT, and is the gateway's account.
 */
export function upstreamErrorFrom(status: number, error: GeminiError | undefined, retryAfter?: string): UpstreamError {
  return mapProviderFailure({
    status,
    ...(isCredentialFailure(error) ? { kind: 'account' as const } : {}),
    message: error?.message,
    retryAfterSeconds: parseRetryAfter(retryAfter) ?? retryDelaySeconds(error),
    cause: { status, grpcStatus: error?.status },
  });
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
  return upstreamMalformed({ detail, cause });
}
