import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import * as zlib from 'node:zlib';
import { UpstreamError } from '../../src/errors/gateway-error.ts';
import { ACCEPT_ENCODING, StreamDecoder, contentCodings, decodeBody, type ContentCoding } from '../../src/exchange/content-decoding.ts';

const CASE = path.resolve(import.meta.dirname, '../fixtures/cases/gzip-upstream-body');

/** Every way a provider may compress, with how the header names it. */
const ENCODERS: Record<string, { header: ContentCoding; encode: (b: Buffer) => Buffer }> = {
  gzip: { header: 'gzip', encode: (b) => zlib.gzipSync(b) },
  'deflate (zlib-wrapped)': { header: 'deflate', encode: (b) => zlib.deflateSync(b) },
  'deflate (raw)': { header: 'deflate', encode: (b) => zlib.deflateRawSync(b) },
  br: { header: 'br', encode: (b) => zlib.brotliCompressSync(b) },
};

/** Zeros compress about 1000:1; brotli at quality 1 keeps building the bomb fast. */
function bomb(enc: { header: ContentCoding; encode: (b: Buffer) => Buffer }, size: number): Buffer {
  const zeros = Buffer.alloc(size);
  return enc.header === 'br' ? zlib.brotliCompressSync(zeros, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1 } }) : enc.encode(zeros);
}

const SSE = Buffer.from(
  ['{"id":"a","choices":[{"delta":{"content":"héllo ✓"}}]}', '{"id":"a","choices":[{"delta":{"content":" wörld"}}]}', '[DONE]']
    .map((d) => `data: ${d}\n\n`)
    .join(''),
);

function assertUpstream(err: unknown, code: string): true {
  assert.ok(err instanceof UpstreamError, String(err));
  assert.equal(err.status, 502);
  assert.equal(err.code, code);
  return true;
}

/** Feeds `parts` in order (awaiting each) and returns everything decoded. */
async function decodeParts(decoder: StreamDecoder, parts: Buffer[]): Promise<Buffer> {
  const out: Buffer[] = [];
  for (let i = 0; i < parts.length; i++) out.push(await decoder.push(parts[i]!, i === parts.length - 1));
  return Buffer.concat(out);
}

describe('contentCodings', () => {
  test('absent, empty and identity mean no decoding', () => {
    assert.deepEqual(contentCodings(undefined), []);
    assert.deepEqual(contentCodings(''), []);
    assert.deepEqual(contentCodings('identity'), []);
  });
  test('names are case-insensitive, x-gzip is gzip, lists keep the order applied', () => {
    assert.deepEqual(contentCodings('GZip'), ['gzip']);
    assert.deepEqual(contentCodings('x-gzip'), ['gzip']);
    assert.deepEqual(contentCodings('deflate, br'), ['deflate', 'br']);
    assert.deepEqual(contentCodings(' br ,identity'), ['br']);
  });
  test('a coding the gateway cannot read is a 502 naming it', () => {
    for (const value of ['zstd', 'compress', 'x-snappy', 'gzip, zstd']) {
      assert.throws(() => contentCodings(value), (err) => assertUpstream(err, 'upstream_unsupported_encoding'));
    }
    assert.throws(() => contentCodings('zstd'), /content-encoding "zstd"/);
    assert.throws(() => contentCodings('gzip, gzip, gzip'), (err) => assertUpstream(err, 'upstream_unsupported_encoding'));
  });
  test('a hostile header value is not echoed', () => {
    assert.throws(
      () => contentCodings('<script>alert(1)</script>'),
      (err) => err instanceof UpstreamError && !err.message.includes('<script>'),
    );
  });
  test('streams ask for identity, buffered answers for every coding the gateway decodes', () => {
    assert.equal(ACCEPT_ENCODING.stream, 'identity');
    const offered = ACCEPT_ENCODING.buffered.split(',').map((c) => c.trim());
    assert.deepEqual(offered.flatMap((c) => contentCodings(c)), ['gzip', 'deflate', 'br']);
  });
});

describe('decodeBody', () => {
  test('the case: the recorded gzip body decodes to the chat.completion', () => {
    const body = decodeBody(readFileSync(path.join(CASE, 'provider-body.json.gz')), ['gzip'], 1 << 20);
    const completion = JSON.parse(body.toString('utf8')) as { choices: Array<{ message: { content: string } }> };
    assert.equal(completion.choices[0]!.message.content, 'Compressed hello');
  });
  for (const [name, enc] of Object.entries(ENCODERS)) {
    test(`${name}`, () => {
      assert.deepEqual(decodeBody(enc.encode(SSE), [enc.header], 1 << 20), SSE);
    });
  }
  test('stacked codings are undone last first', () => {
    const data = zlib.brotliCompressSync(zlib.gzipSync(SSE));
    assert.deepEqual(decodeBody(data, contentCodings('gzip, br'), 1 << 20), SSE);
  });
  test('no codings: the bytes as they are', () => {
    assert.deepEqual(decodeBody(SSE, [], 10), SSE);
  });
  test('a decompression bomb stops at the limit', () => {
    for (const [name, enc] of Object.entries(ENCODERS)) {
      const packed = bomb(enc, 32 << 20);
      assert.ok(packed.length < 1 << 20, name);
      assert.throws(() => decodeBody(packed, [enc.header], 1 << 20), (err) => assertUpstream(err, 'upstream_too_large'), name);
    }
  });
  test('corrupt or truncated data is upstream_malformed', () => {
    for (const [name, enc] of Object.entries(ENCODERS)) {
      const packed = enc.encode(SSE);
      assert.throws(() => decodeBody(packed.subarray(0, packed.length - 5), [enc.header], 1 << 20), (err) => assertUpstream(err, 'upstream_malformed'), name);
    }
    assert.throws(() => decodeBody(SSE, ['gzip'], 1 << 20), (err) => assertUpstream(err, 'upstream_malformed'));
    assert.throws(() => decodeBody(SSE, ['br'], 1 << 20), (err) => assertUpstream(err, 'upstream_malformed'));
    assert.throws(() => decodeBody(Buffer.from('\xff\xff\xff\xff', 'latin1'), ['deflate'], 1 << 20), (err) => assertUpstream(err, 'upstream_malformed'));
  });
});

describe('StreamDecoder', () => {
  for (const [name, enc] of Object.entries(ENCODERS)) {
    test(`${name}: split at every byte offset, each chunk decoded as it arrives`, async () => {
      const packed = enc.encode(SSE);
      for (let cut = 1; cut < packed.length; cut++) {
        const out = await decodeParts(new StreamDecoder([enc.header], 1 << 20), [packed.subarray(0, cut), packed.subarray(cut)]);
        assert.deepEqual(out, SSE, `${name} cut at ${cut}`);
      }
    });
    test(`${name}: one byte per chunk`, async () => {
      const packed = enc.encode(SSE);
      const parts = Array.from({ length: packed.length }, (_, i) => packed.subarray(i, i + 1));
      assert.deepEqual(await decodeParts(new StreamDecoder([enc.header], 1 << 20), [...parts, Buffer.alloc(0)]), SSE);
    });
  }

  test('events flushed by the provider come out with their own chunk, not at the end', async () => {
    // As a compressing server streams: one flush per event.
    const makers: Array<[ContentCoding, () => zlib.Gzip | zlib.Deflate | zlib.DeflateRaw | zlib.BrotliCompress]> = [
      ['gzip', () => zlib.createGzip()],
      ['deflate', () => zlib.createDeflate()],
      ['deflate', () => zlib.createDeflateRaw()],
      ['br', () => zlib.createBrotliCompress()],
    ];
    for (const [coding, make] of makers) {
      const encoder = make();
      const pieces: Buffer[] = [];
      encoder.on('data', (b: Buffer) => pieces.push(b));
      const events = SSE.toString().split(/(?<=\n\n)/);
      const perEvent: Buffer[] = [];
      for (const ev of events) {
        encoder.write(ev);
        await new Promise<void>((resolve) => encoder.flush(() => setImmediate(resolve)));
        perEvent.push(Buffer.concat(pieces.splice(0)));
      }
      const ended = new Promise<void>((resolve) => encoder.once('end', resolve));
      encoder.end();
      await ended;
      const tail = Buffer.concat(pieces.splice(0));
      const decoder = new StreamDecoder([coding], 1 << 20);
      for (let i = 0; i < events.length; i++) assert.equal((await decoder.push(perEvent[i]!, false)).toString(), events[i]);
      assert.equal((await decoder.push(tail, true)).length, 0);
    }
  });

  test('stacked codings, split', async () => {
    const packed = zlib.brotliCompressSync(zlib.deflateRawSync(SSE));
    const mid = packed.length >> 1;
    assert.deepEqual(await decodeParts(new StreamDecoder(contentCodings('deflate, br'), 1 << 20), [packed.subarray(0, mid), packed.subarray(mid)]), SSE);
  });

  test('a bomb fails at the per-chunk bound without inflating the rest', async () => {
    for (const [name, enc] of Object.entries(ENCODERS)) {
      const packed = bomb(enc, 64 << 20);
      const decoder = new StreamDecoder([enc.header], 1 << 20);
      const before = process.memoryUsage().arrayBuffers;
      await assert.rejects(decoder.push(packed, false), (err) => assertUpstream(err, 'upstream_too_large'), name);
      assert.ok(process.memoryUsage().arrayBuffers - before < 16 << 20, `${name} kept its output bounded`);
      await assert.rejects(decoder.push(Buffer.alloc(1), true), (err) => assertUpstream(err, 'upstream_too_large'), name);
    }
  });

  test('corrupt bytes and a truncated stream are upstream_malformed', async () => {
    for (const [name, enc] of Object.entries(ENCODERS)) {
      const garbage = new StreamDecoder([enc.header], 1 << 20);
      await assert.rejects(decodeParts(garbage, [Buffer.from('this is not compressed at all, not even close'), Buffer.alloc(0)]), (err) => assertUpstream(err, 'upstream_malformed'), name);
      const packed = enc.encode(SSE);
      const truncated = new StreamDecoder([enc.header], 1 << 20);
      await assert.rejects(decodeParts(truncated, [packed.subarray(0, packed.length - 6), Buffer.alloc(0)]), (err) => assertUpstream(err, 'upstream_malformed'), name);
    }
  });

  test('after destroy every push fails', async () => {
    const decoder = new StreamDecoder(['gzip'], 1 << 20);
    decoder.destroy();
    await assert.rejects(decoder.push(zlib.gzipSync(SSE), true), (err) => assertUpstream(err, 'upstream_malformed'));
  });
});
