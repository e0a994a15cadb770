import { UpstreamError, type OpenAIErrorType } from '../../errors/gateway-error.ts';
import { scrubSecrets } from '../../lib/scrub.ts';
import { parseRetryAfter } from '../../lib/retry-after.ts';
import type { HeaderLookup } from '../dialect.ts';

interface OpenAIErrorShape {
  error?: { message?: unknown; type?: unknown; param?: unknown; code?: unknown } | string;
  message?: unknown;
}

/**
 * Maps a provider's HTTP error to what the caller sees. The caller's request may be at fault
 * (4xx kept), but a provider's auth or not-found error is the gateway's problem, so it becomes
 * 502 without saying which provider or key.
 */
export function mapUpstreamStatus(status: number): { status: number; type: OpenAIErrorType } {
  if (status === 429) return { status: 429, type: 'rate_limit_error' };
  if (status === 401 || status === 403 || status === 404) return { status: 502, type: 'api_error' };
  if (status === 408 || status === 504) return { status: 504, type: 'timeout_error' };
  if (status === 503 || status === 529) return { status: 503, type: 'service_unavailable_error' };
  if (status >= 500) return { status: 502, type: 'api_error' };
  if (status === 413) return { status: 413, type: 'invalid_request_error' };
  return { status: status >= 400 ? status : 502, type: 'invalid_request_error' };
}

const GENERIC: Record<number, string> = {
  429: 'The model provider is rate limiting requests. Retry later.',
  502: 'The model provider returned an error.',
  503: 'The model provider is overloaded or unavailable. Retry later.',
  504: 'The model provider timed out.',
};

export function parseOpenAIError(status: number, headers: HeaderLookup, body: Uint8Array): UpstreamError {
  const mapped = mapUpstreamStatus(status);
  let message: string | undefined;
  let param: string | null = null;
  let code: string | null = null;
  try {
    const parsed = JSON.parse(Buffer.from(body).toString('utf8')) as OpenAIErrorShape;
    const e = parsed.error;
    if (typeof e === 'string') message = e;
    else if (e && typeof e === 'object') {
      if (typeof e.message === 'string') message = e.message;
      if (typeof e.param === 'string') param = e.param;
      if (typeof e.code === 'string') code = e.code;
    } else if (typeof parsed.message === 'string') message = parsed.message;
  } catch {
    // Not JSON (an HTML error page, say): the generic message below is all the caller gets.
  }
  // The provider's own words only where they concern the caller's request (4xx other than auth).
  const passThrough = mapped.status < 500 && mapped.status !== 429 && message !== undefined;
  const text = passThrough ? scrubSecrets(message!) : (GENERIC[mapped.status] ?? 'The model provider returned an error.');
  const retryAfterSeconds = parseRetryAfter(headers('retry-after'));
  return new UpstreamError(mapped.status, mapped.type, text, {
    param: passThrough ? param : null,
    code: passThrough ? code : mapped.status === 429 ? 'rate_limit_exceeded' : 'upstream_error',
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
  });
}
