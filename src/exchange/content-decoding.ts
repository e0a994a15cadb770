import * as zlib from 'node:zlib';
import { UpstreamError } from '../errors/gateway-error.ts';

/**
 * The HTTP content codings (RFC 9110 §8.4.1) the gateway can decode from a provider, with
 * Node's zlib: `gzip` (also spelled `x-gzip`, §8.4.1.3), `deflate` (RFC 1950 zlib-wrapped, or
 * raw RFC 1951 data as some servers send it; told apart by the zlib header) and `br` (RFC 7932).
 */
export type ContentCoding = 'gzip' | 'deflate' | 'br';

/**
 * `accept-encoding` the gateway sends upstream. Buffered (non-stream) answers: every coding it
 * decodes; Envoy holds the whole body before the gateway reads it anyway, so compression only
 * saves bytes on the provider link (large for `n > 1` or `logprobs` answers). Streams:
 * `identity`; a provider's compressor may hold small events back until its buffer fills,
 * delaying tokens, events are small, and decoding a compressed stream costs the gateway an
 * asynchronous zlib stream per response.
 */
export const ACCEPT_ENCODING = { buffered: 'gzip, deflate, br', stream: 'identity' } as const;

/** More stacked codings than this is no real server's answer; refused as unsupported. */
const MAX_CODINGS = 2;
const TOKEN = /^[a-z0-9!#$%&'*+.^_`|~-]{1,32}$/;

function unsupported(value: string): UpstreamError {
  const named = TOKEN.test(value) ? `content-encoding "${value}"` : 'a content-encoding';
  return new UpstreamError(502, 'api_error', `The model provider answered with ${named}, which the gateway cannot decode.`, {
    code: 'upstream_unsupported_encoding',
  });
}

function malformed(cause: unknown): UpstreamError {
  return new UpstreamError(502, 'api_error', 'The model provider sent a compressed response that could not be decoded.', { cause, code: 'upstream_malformed' });
}

function tooLarge(limit: number): UpstreamError {
  return new UpstreamError(502, 'api_error', `The model provider's response decodes to more than the gateway's limit of ${limit} bytes.`, {
    code: 'upstream_too_large',
  });
}

/**
 * The codings of a `content-encoding` value, in the order the provider applied them (RFC 9110
 * §8.4: decode from last to first). Absent, empty or `identity`: `[]`, the normal case.
 * Throws UpstreamError 502 `upstream_unsupported_encoding` for any other coding (`zstd`,
 * `compress`, unknown names) and for more than two stacked codings.
 */
export function contentCodings(value: string | undefined): ContentCoding[] {
  if (value === undefined || value === '') return [];
  const out: ContentCoding[] = [];
  for (const raw of value.split(',')) {
    const name = raw.trim().toLowerCase();
    if (name === '' || name === 'identity') continue;
    if (name === 'gzip' || name === 'x-gzip') out.push('gzip');
    else if (name === 'deflate' || name === 'br') out.push(name);
    else throw unsupported(name);
  }
  if (out.length > MAX_CODINGS) throw unsupported(value.trim().toLowerCase());
  return out;
}

/** RFC 1950 §2.2: CM = 8 (deflate) and the header checksum is a multiple of 31. */
function isZlibHeader(b0: number, b1: number): boolean {
  return (b0 & 0x0f) === 8 && (b0 >> 4) <= 7 && ((b0 << 8) | b1) % 31 === 0;
}

function isBufferTooLarge(err: unknown): boolean {
  return err instanceof RangeError && (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
}

function decodeOne(data: Buffer, coding: ContentCoding, maxBytes: number): Buffer {
  // maxOutputLength makes zlib stop (RangeError) instead of inflating a bomb into memory.
  const opts = { maxOutputLength: maxBytes };
  try {
    if (coding === 'gzip') return zlib.gunzipSync(data, opts);
    if (coding === 'br') return zlib.brotliDecompressSync(data, opts);
    return data.length >= 2 && isZlibHeader(data[0]!, data[1]!) ? zlib.inflateSync(data, opts) : zlib.inflateRawSync(data, opts);
  } catch (err) {
    throw isBufferTooLarge(err) ? tooLarge(maxBytes) : malformed(err);
  }
}

/**
 * Decodes a whole (buffered) body, synchronously. `codings` as from {@link contentCodings};
 * `maxBytes` bounds every decoded stage (the gateway uses `server.maxBodyBytes`).
 * Throws UpstreamError 502: `upstream_malformed` for corrupt or truncated data,
 * `upstream_too_large` when the decoded body would exceed `maxBytes`.
 */
export function decodeBody(body: Uint8Array, codings: readonly ContentCoding[], maxBytes: number): Buffer {
  let data = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  for (let i = codings.length - 1; i >= 0; i--) data = decodeOne(data, codings[i]!, maxBytes);
  return data;
}

type Engine = zlib.Gunzip | zlib.Inflate | zlib.InflateRaw | zlib.BrotliDecompress;

/**
 * One coding, decoded incrementally with a zlib stream: each pushed chunk is flushed through
 * and its output returned, so events reach the translator as they arrive. Node's zlib has no
 * public synchronous incremental API, hence the promise.
 */
class Stage {
  private engine: Engine | undefined;
  /** deflate only: the first bytes, held until the zlib header can be told from raw data. */
  private head: Buffer | undefined;
  private out: Buffer[] = [];
  private size = 0;
  private failure: UpstreamError | undefined;
  private pending: { resolve: (b: Buffer) => void; reject: (e: UpstreamError) => void } | undefined;

  constructor(
    coding: ContentCoding,
    private readonly maxChunkBytes: number,
  ) {
    if (coding !== 'deflate') this.engine = this.start(coding === 'gzip' ? zlib.createGunzip() : zlib.createBrotliDecompress());
  }

  private start(engine: Engine): Engine {
    engine.on('data', (b: Buffer) => {
      if (this.failure) return;
      this.size += b.length;
      if (this.size > this.maxChunkBytes) return this.fail(tooLarge(this.maxChunkBytes));
      this.out.push(b);
    });
    engine.on('error', (err) => this.fail(malformed(err)));
    return engine;
  }

  private fail(err: UpstreamError): void {
    if (this.failure) return;
    this.failure = err;
    this.engine?.destroy();
    this.out = [];
    const p = this.pending;
    this.pending = undefined;
    p?.reject(err);
  }

  private settle(): void {
    const p = this.pending;
    if (!p || this.failure) return;
    this.pending = undefined;
    const out = this.out.length === 1 ? this.out[0]! : Buffer.concat(this.out);
    this.out = [];
    this.size = 0;
    p.resolve(out);
  }

  push(chunk: Buffer, end: boolean): Promise<Buffer> {
    if (this.failure) return Promise.reject(this.failure);
    if (!this.engine) {
      // deflate: wait for two bytes (or the end) to choose between zlib-wrapped and raw.
      const head = this.head ? Buffer.concat([this.head, chunk]) : chunk;
      if (head.length < 2 && !end) {
        this.head = head;
        return Promise.resolve(EMPTY);
      }
      this.head = undefined;
      this.engine = this.start(head.length >= 2 && isZlibHeader(head[0]!, head[1]!) ? zlib.createInflate() : zlib.createInflateRaw());
      chunk = head;
    }
    const engine = this.engine;
    return new Promise<Buffer>((resolve, reject) => {
      this.pending = { resolve, reject };
      if (end) {
        // 'end' comes after the last 'data'; a truncated stream is an 'error' instead.
        engine.once('end', () => this.settle());
        engine.end(chunk);
      } else {
        engine.write(chunk);
        // The flush callback can run before output queued on the next tick is emitted;
        // setImmediate runs after every pending tick.
        engine.flush(() => setImmediate(() => this.settle()));
      }
    });
  }

  destroy(): void {
    this.failure ??= malformed(new Error('decoder closed'));
    this.pending = undefined;
    this.engine?.destroy();
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * Incremental decoder for one compressed response stream (SSE). `push` each body chunk in
 * arrival order, awaiting each before the next; it resolves to the decoded bytes of that chunk
 * (possibly empty) and never holds more than one chunk's output. `maxChunkBytes` bounds what
 * one chunk may decode to. Rejects with UpstreamError 502 `upstream_malformed` (corrupt or
 * truncated data) or `upstream_too_large`; after that, or after `destroy`, every push rejects.
 */
export class StreamDecoder {
  private readonly stages: Stage[];

  constructor(codings: readonly ContentCoding[], maxChunkBytes: number) {
    // The last coding applied is the first to undo.
    this.stages = [...codings].reverse().map((c) => new Stage(c, maxChunkBytes));
  }

  async push(chunk: Uint8Array, end: boolean): Promise<Buffer> {
    let data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    for (const stage of this.stages) data = await stage.push(data, end);
    return data;
  }

  /** Frees the zlib streams (the response ended early or the request closed). */
  destroy(): void {
    for (const s of this.stages) s.destroy();
  }
}
