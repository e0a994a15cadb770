import * as zlib from 'node:zlib';

type Compressor = zlib.Gzip | zlib.Deflate | zlib.DeflateRaw | zlib.BrotliCompress;

/** `deflate-raw` is RFC 1951 data without the zlib wrapper, sent as `deflate` as some servers do. */
const COMPRESSORS: Record<string, { header: string; create: () => Compressor }> = {
  gzip: { header: 'gzip', create: () => zlib.createGzip() },
  deflate: { header: 'deflate', create: () => zlib.createDeflate() },
  'deflate-raw': { header: 'deflate', create: () => zlib.createDeflateRaw() },
  br: { header: 'br', create: () => zlib.createBrotliCompress() },
};

/**
 * Compresses a response's units (stream events, or the one body) as one compressed stream,
 * flushed after every unit as a compressing server streams, so a client can decode each unit
 * as it arrives; the stream's trailer goes with the last unit. `coding` is a fault's
 * `contentEncoding`: `gzip`, `deflate`, `deflate-raw` or `br`; any other value leaves the bytes
 * as they are and is only announced (a coding the client cannot read).
 * Returns the units and the `content-encoding` header value.
 */
export async function encodeUnits(units: readonly Buffer[], coding: string): Promise<{ units: Buffer[]; header: string }> {
  const c = COMPRESSORS[coding];
  if (!c) return { units: [...units], header: coding };
  const z = c.create();
  let pending: Buffer[] = [];
  z.on('data', (b: Buffer) => pending.push(b));
  const take = (): Buffer => {
    const b = Buffer.concat(pending);
    pending = [];
    return b;
  };
  const out: Buffer[] = [];
  for (const u of units) {
    z.write(u);
    // setImmediate: output pushed on the next tick is in `pending` by then.
    await new Promise<void>((resolve) => z.flush(() => setImmediate(resolve)));
    out.push(take());
  }
  const ended = new Promise<void>((resolve, reject) => {
    z.once('end', resolve);
    z.once('error', reject);
  });
  z.end();
  await ended;
  const trailer = take();
  if (out.length === 0) out.push(trailer);
  else out[out.length - 1] = Buffer.concat([out[out.length - 1]!, trailer]);
  return { units: out, header: c.header };
}
