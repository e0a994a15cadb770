import { UpstreamError } from '../../errors/gateway-error.ts';

/** A 502 for provider bytes the gateway cannot read; the details go to `cause` (logs only). */
export function malformedResponse(cause: unknown): UpstreamError {
  return new UpstreamError(502, 'server_error', 'The upstream provider returned a malformed response.', {
    code: 'upstream_malformed_response',
    cause,
  });
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 JSON bytes → value; a 502 if they are neither. */
export function decodeJson(body: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(body));
  } catch (err) {
    throw malformedResponse(err);
  }
}
