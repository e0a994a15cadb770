import type { UpstreamError } from '../../errors/gateway-error.ts';
import { upstreamMalformed } from '../../errors/upstream-mapping.ts';

/** A 502 `upstream_malformed` (the one error table's) for provider bytes the gateway cannot read; the details go to `cause` (logs only). */
export function malformedResponse(cause: unknown): UpstreamError {
  return upstreamMalformed(cause);
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
