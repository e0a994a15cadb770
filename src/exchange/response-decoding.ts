import type { StreamTranslator } from '../dialects/dialect.ts';
import type { GatewayError } from '../errors/gateway-error.ts';
import { StreamDecoder, decodeBody, type ContentCoding } from './content-decoding.ts';

/**
 * The content decoding of one compressed provider response, in the body mode Envoy delivers it:
 * BUFFERED bodies are decoded whole, synchronously, once collected; STREAMED bodies (SSE) chunk by
 * chunk as they arrive. `maxBytes` (the gateway's `server.maxBodyBytes`) bounds a whole decoded
 * body, and what one streamed chunk may decode to.
 */
export class ResponseDecoding {
  private readonly stream: StreamDecoder | undefined;
  /** A streamed decode failed: the rest of the body is dropped. */
  failed = false;

  constructor(
    private readonly codings: readonly ContentCoding[],
    readonly streamed: boolean,
    private readonly maxBytes: number,
  ) {
    this.stream = streamed ? new StreamDecoder(codings, maxBytes) : undefined;
  }

  /**
   * BUFFERED: the whole body (as the router processor collected it), decoded. Throws
   * UpstreamError 502 (`upstream_malformed`, `upstream_too_large`).
   */
  whole(raw: Uint8Array): Uint8Array {
    return decodeBody(raw, this.codings, this.maxBytes);
  }

  /** STREAMED: this chunk's decoded bytes; rejects as StreamDecoder.push does. */
  next(chunk: Uint8Array, end: boolean): Promise<Buffer> {
    return this.stream!.push(chunk, end);
  }

  /** Frees the zlib streams; a pending `next` never settles. */
  destroy(): void {
    this.stream?.destroy();
  }
}

/**
 * The translator of a stream whose bytes could no longer be decoded: its terminal event is the
 * decoding error (the caller got it as an error event), its token counts are those of `inner` so
 * far. Nothing more is translated.
 */
export function failedTranslator(inner: StreamTranslator, error: GatewayError): StreamTranslator {
  return {
    push: () => '',
    end: () => '',
    get usage() {
      return inner.usage;
    },
    terminal: { kind: 'error', error },
    tokensSoFar: () => inner.tokensSoFar(),
  };
}
