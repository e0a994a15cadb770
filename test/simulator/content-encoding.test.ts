import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as zlib from 'node:zlib';
import { startSimProvider, type SimProvider } from '../../src/simulator/index.ts';
import { encodeUnits } from '../../src/simulator/transport/content-encoding.ts';
import { rawPost } from './helpers/raw.ts';

const BODY = { model: 'gpt', messages: [{ role: 'user', content: 'Hello' }] };
const STREAM_BODY = { ...BODY, stream: true, stream_options: { include_usage: true } };
const DECODE: Record<string, (b: Buffer) => Buffer> = {
  gzip: (b) => zlib.gunzipSync(b),
  deflate: (b) => zlib.inflateSync(b),
  'deflate-raw': (b) => zlib.inflateRawSync(b),
  br: (b) => zlib.brotliDecompressSync(b),
};
const SYNC = { finishFlush: zlib.constants.Z_SYNC_FLUSH };
const PARTIAL: Record<string, (b: Buffer) => Buffer> = {
  gzip: (b) => zlib.gunzipSync(b, SYNC),
  deflate: (b) => zlib.inflateSync(b, SYNC),
  'deflate-raw': (b) => zlib.inflateRawSync(b, SYNC),
  br: (b) => zlib.brotliDecompressSync(b, { finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH }),
};
const HEADER: Record<string, string> = { gzip: 'gzip', deflate: 'deflate', 'deflate-raw': 'deflate', br: 'br' };

let sim: SimProvider;
before(async () => {
  sim = await startSimProvider({ format: 'openai' });
});
after(async () => {
  await sim.close();
});
const url = (): string => `${sim.url}/v1/chat/completions`;
const fault = (f: object): Record<string, string> => ({ 'x-sim-fault': JSON.stringify(f) });

describe('encodeUnits', () => {
  it('flushes after every unit: each prefix of the output decodes to the units so far', async () => {
    const units = ['data: one\n\n', 'data: two\n\n', 'data: [DONE]\n\n'].map((s) => Buffer.from(s));
    for (const coding of Object.keys(DECODE)) {
      const { units: packed, header } = await encodeUnits(units, coding);
      assert.equal(header, HEADER[coding]);
      assert.equal(packed.length, units.length);
      assert.equal(DECODE[coding]!(Buffer.concat(packed)).toString(), units.join(''));
      // The first unit alone (no trailer yet) already decodes to the first event.
      assert.equal(PARTIAL[coding]!(packed[0]!).toString(), 'data: one\n\n', coding);
    }
  });
  it('an unknown coding is only announced', async () => {
    const { units, header } = await encodeUnits([Buffer.from('abc')], 'zstd');
    assert.equal(header, 'zstd');
    assert.equal(Buffer.concat(units).toString(), 'abc');
  });
});

describe('fault: contentEncoding', () => {
  for (const coding of Object.keys(DECODE)) {
    it(`${coding}: JSON body compressed, content-length of the compressed bytes`, async () => {
      const r = await rawPost(url(), BODY, fault({ contentEncoding: coding }));
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-encoding'], HEADER[coding]);
      assert.equal(Number(r.headers['content-length']), r.body.length);
      const completion = JSON.parse(DECODE[coding]!(r.body).toString()) as { object: string };
      assert.equal(completion.object, 'chat.completion');
    });
    it(`${coding}: SSE stream compressed, split writes still one valid stream`, async () => {
      const r = await rawPost(url(), STREAM_BODY, fault({ contentEncoding: coding, splitBytes: 'random', splitSeed: 3 }));
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-encoding'], HEADER[coding]);
      const text = DECODE[coding]!(r.body).toString();
      assert.match(text, /^data: \{"id":"chatcmpl-/);
      assert.ok(text.endsWith('data: [DONE]\n\n'));
    });
  }
  it('error bodies are compressed too', async () => {
    const r = await rawPost(url(), BODY, fault({ contentEncoding: 'gzip', status: 429, retryAfter: 2 }));
    assert.equal(r.status, 429);
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.ok((JSON.parse(zlib.gunzipSync(r.body).toString()) as { error: unknown }).error);
  });
  it('an unknown coding is announced over the plain bytes', async () => {
    const r = await rawPost(url(), BODY, fault({ contentEncoding: 'zstd' }));
    assert.equal(r.headers['content-encoding'], 'zstd');
    assert.equal((JSON.parse(r.body.toString()) as { object: string }).object, 'chat.completion');
  });
  it('a replay keeps its own content-encoding header and bytes', async () => {
    const gz = zlib.gzipSync('{"ok":true}');
    sim.enqueueFault({ replay: { status: 200, contentType: 'application/json', body: gz, headers: { 'content-encoding': 'gzip' } } });
    const r = await rawPost(url(), BODY);
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.deepEqual(r.body, gz);
  });
  it('a malformed value is refused', async () => {
    const r = await rawPost(url(), BODY, fault({ contentEncoding: 'g zip' }));
    assert.equal(r.status, 400);
  });
});
