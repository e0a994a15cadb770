import { scrubSecrets } from '../lib/scrub.ts';
import { UpstreamError, type OpenAIErrorType } from './gateway-error.ts';

/**
 * The one table from a provider failure to what the caller sees, for every wire format
 * (OpenAI-compatible, Anthropic, Gemini). Each dialect only reads its error body into a
 * `ProviderFailure`; status, OpenAI `type`, `code`, message and `retry-after` are decided here.
 *
 * The rule for text: a provider's message reaches the caller only when the failure is about
 * the caller's request (4xx other than the gateway's own account, routing or rate limits),
 * scrubbed of keys, host names, URLs and account/project ids (src/lib/scrub.ts). Everything
 * else gets the gateway's own words, which name neither the provider nor its account.
 * `retry-after` is kept on 429 and 503 only.
 */
export type ProviderFailureKind =
  | 'invalid_request'
  | 'too_large'
  | 'account'
  | 'not_found'
  | 'rate_limit'
  | 'overloaded'
  | 'timeout'
  | 'server';

export interface ProviderFailure {
  /** The provider's HTTP status (for an error inside a 200 stream: the status its type documents). */
  readonly status: number;
  /** Overrides the kind the status implies, when the provider's error type is more precise. */
  readonly kind?: ProviderFailureKind;
  /** The provider's own message, unscrubbed; used only where the rule allows it. */
  readonly message?: string | null | undefined;
  /** OpenAI-shaped providers name the parameter and an OpenAI code (`context_length_exceeded`). */
  readonly param?: string | null;
  readonly code?: string | null;
  /** Seconds, from `retry-after` or the provider's own retry hint. */
  readonly retryAfterSeconds?: number | undefined;
  /** For logs only: never sent. */
  readonly cause?: unknown;
}

interface Row {
  readonly status: number;
  readonly type: OpenAIErrorType;
  /** null: the provider's own code (OpenAI-shaped providers) or none. */
  readonly code: string | null;
  /** The gateway's wording; with `providerText`, only when the provider sent no usable text. */
  readonly message: string;
  /** The provider's scrubbed message (and its param and code) reaches the caller. */
  readonly providerText: boolean;
  readonly retryAfter: boolean;
}

/** The table the README shows ("Errors from providers"). */
export const UPSTREAM_ERROR_TABLE: Readonly<Record<ProviderFailureKind, Row>> = {
  invalid_request: { status: 400, type: 'invalid_request_error', code: null, message: 'The model provider rejected the request as invalid.', providerText: true, retryAfter: false },
  too_large: { status: 413, type: 'invalid_request_error', code: 'request_too_large', message: 'The request is too large for the model provider.', providerText: true, retryAfter: false },
  account: { status: 502, type: 'api_error', code: 'upstream_auth_failed', message: 'The gateway could not authenticate with the upstream provider.', providerText: false, retryAfter: false },
  not_found: { status: 502, type: 'api_error', code: 'upstream_not_found', message: 'The requested model is not available upstream.', providerText: false, retryAfter: false },
  rate_limit: { status: 429, type: 'rate_limit_error', code: 'rate_limit_exceeded', message: 'Rate limit reached for this model upstream.', providerText: false, retryAfter: true },
  overloaded: { status: 503, type: 'service_unavailable_error', code: 'server_is_overloaded', message: 'The model is currently overloaded. Please try again later.', providerText: false, retryAfter: true },
  timeout: { status: 504, type: 'timeout_error', code: 'upstream_timeout', message: 'The model provider timed out.', providerText: false, retryAfter: false },
  server: { status: 502, type: 'api_error', code: 'upstream_error', message: 'The upstream provider failed to process the request.', providerText: false, retryAfter: false },
};

/** What an HTTP status from a provider means, before any provider-specific type is considered. */
export function kindOfStatus(status: number): ProviderFailureKind {
  switch (status) {
    case 401:
    case 402: // billing: the gateway's account
    case 403:
      return 'account';
    case 404:
      return 'not_found';
    case 408:
    case 504:
      return 'timeout';
    case 413:
      return 'too_large';
    case 429:
      return 'rate_limit';
    case 503:
    case 529: // Anthropic's "overloaded"
      return 'overloaded';
    case 499: // Google's CANCELLED: the provider gave up, not the caller
      return 'server';
  }
  if (status >= 400 && status < 500) return 'invalid_request';
  return 'server';
}

/**
 * The status decides, and a provider's error type only refines it: a generic 4xx may become any
 * kind, a 5xx only another failure of the provider (overloaded, timeout, rate limit), and an
 * error inside a 200 stream is what its type says. So a 401 whose body says
 * `invalid_request_error` stays the gateway's auth failure, never the caller's fault with the
 * provider's text.
 */
function failureKind(f: ProviderFailure): ProviderFailureKind {
  if (f.status < 400) return f.kind ?? 'server';
  const byStatus = kindOfStatus(f.status);
  if (f.kind === undefined) return byStatus;
  if (byStatus === 'invalid_request') return f.kind;
  if (byStatus === 'server' && (f.kind === 'overloaded' || f.kind === 'timeout' || f.kind === 'rate_limit')) return f.kind;
  return byStatus;
}

/** A provider's `code`/`param` travels only when it looks like one (an identifier or a parameter path), never free text. */
const CODE = /^[A-Za-z0-9_.-]{1,64}$/;
const PARAM = /^[A-Za-z0-9_.[\]-]{1,128}$/;

function identifier(value: string | null | undefined, shape: RegExp): string | null {
  return typeof value === 'string' && shape.test(value) && scrubSecrets(value) === value ? value : null;
}

/** Longest provider text passed on; provider messages are sentences, not documents. */
const MAX_MESSAGE = 2000;

/** Applies the table: the one way a provider failure becomes a caller-facing error. */
export function mapProviderFailure(f: ProviderFailure): UpstreamError {
  const kind = failureKind(f);
  const row = UPSTREAM_ERROR_TABLE[kind];
  const provided = row.providerText && typeof f.message === 'string' ? scrubSecrets(f.message).trim().slice(0, MAX_MESSAGE) : '';
  let message = provided || row.message;
  if (kind === 'rate_limit') message = rateLimitMessage(f.retryAfterSeconds);
  const retry = row.retryAfter && f.retryAfterSeconds !== undefined ? { retryAfterSeconds: f.retryAfterSeconds } : {};
  // The provider's param/code are about the caller's request, so they travel only with its text.
  const code = row.providerText && row.code === null ? identifier(f.code, CODE) : row.code;
  const param = row.providerText ? identifier(f.param, PARAM) : null;
  return new UpstreamError(row.status, row.type, message, { code, param, cause: { upstreamStatus: f.status, kind, cause: f.cause }, ...retry });
}

function rateLimitMessage(retryAfter: number | undefined): string {
  const base = UPSTREAM_ERROR_TABLE.rate_limit.message;
  if (retryAfter === undefined) return `${base} Please try again later.`;
  return `${base} Please try again in ${Math.max(1, Math.ceil(retryAfter))}s.`;
}

/** A provider answer the gateway cannot read (bad JSON, unexpected shape): the provider's fault. */
export function upstreamMalformed(cause?: unknown): UpstreamError {
  return new UpstreamError(502, 'api_error', 'The model provider returned a malformed response.', { code: 'upstream_malformed', cause });
}

/** A provider stream that ended before its documented end: the provider's fault. */
export function upstreamStreamTruncated(cause?: unknown): UpstreamError {
  return new UpstreamError(502, 'api_error', 'The model provider ended the stream before it was complete.', { code: 'upstream_stream_truncated', cause });
}
