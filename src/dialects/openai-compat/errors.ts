import { mapProviderFailure } from '../../errors/upstream-mapping.ts';
import type { UpstreamError } from '../../errors/gateway-error.ts';
import { parseRetryAfter } from '../../lib/retry-after.ts';
import type { HeaderLookup } from '../dialect.ts';

interface OpenAIErrorShape {
  error?: { message?: unknown; type?: unknown; param?: unknown; code?: unknown } | string;
  message?: unknown;
}

/**
 * An OpenAI-compatible provider's HTTP error (`{"error":{"message","type","param","code"}}`,
 * https://platform.openai.com/docs/guides/error-codes; also `{"error":"…"}` and
 * `{"message":"…"}` from compatible servers) → what the caller sees, by the one table in
 * src/errors/upstream-mapping.ts. The body is only read here; any body that is not JSON maps
 * by status alone.
 */
export function parseOpenAIError(status: number, headers: HeaderLookup, body: Uint8Array): UpstreamError {
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
    // Not JSON (an HTML error page, say): the table's own words are all the caller gets.
  }
  return mapProviderFailure({
    status,
    message,
    param,
    code,
    retryAfterSeconds: parseRetryAfter(headers('retry-after')),
    cause: { upstreamStatus: status, upstreamCode: code },
  });
}
