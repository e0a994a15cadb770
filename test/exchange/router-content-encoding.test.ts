import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import * as zlib from 'node:zlib';
import type { RouterProcessor } from '../../src/exchange/router-processor.ts';
import type { ExtProcResponse } from '../../src/extproc/types.ts';
import { assertStreamMatches } from '../support/openai-compare.ts';
import { bodyMessage, headersMessage, immediate, openAIError, phaseMutation, syncReply } from '../support/unit/ext-proc.ts';
import { admit, attempt, chatBody, chatHeaders, harness } from '../support/unit/gateway.ts';
import { wireBytes, wireText } from '../support/unit/bytes.ts';

const h = harness();
after(() => h.close());

const CASE = path.resolve(import.meta.dirname, '../fixtures/cases/gzip-upstream-body');
const CASE_BODY = readFileSync(path.join(CASE, 'provider-body.json.gz'));
const CASE_HEADERS = (JSON.parse(readFileSync(path.join(CASE, 'provider-headers.json'), 'utf8')) as { headers: Record<string, string> }).headers;

const ENCODE: Record<string, { header: string; encode: (b: Buffer) => Buffer }> = {
  gzip: { header: 'gzip', encode: (b) => zlib.gzipSync(b) },
  deflate: { header: 'deflate', encode: (b) => zlib.deflateSync(b) },
  'deflate (raw)': { header: 'deflate', encode: (b) => zlib.deflateRawSync(b) },
  br: { header: 'br', encode: (b) => zlib.brotliCompressSync(b) },
};

/** A request on an OpenAI-format target, answered with these response headers. */
function answered(stream: boolean, headers: Record<string, string>): { router: RouterProcessor; id: string; res: ExtProcResponse } {
  const router = h.router();
  const { id } = admit(router, chatBody('gpt-4o-mini', stream ? { stream: true, stream_options: { include_usage: true } } : {}));
  attempt(h, id, 'openai-primary', 1);
  const res = syncReply(router.handle(headersMessage('response_headers', headers)));
  return { router, id, res };
}

/** Feeds body pieces (the last with end_of_stream), awaiting async replies, and joins what goes to the caller. */
async function feed(router: RouterProcessor, pieces: readonly Uint8Array[]): Promise<{ text: string; replies: ExtProcResponse[] }> {
  let text = '';
  const replies: ExtProcResponse[] = [];
  for (let i = 0; i < pieces.length; i++) {
    const res = await router.handle(bodyMessage('response_body', pieces[i]!, i === pieces.length - 1));
    replies.push(res);
    if (res['immediate_response']) break;
    text += phaseMutation(res, 'response_body').body?.toString('utf8') ?? '';
  }
  return { text, replies };
}

function logLine(id: string): Record<string, unknown> {
  const line = h.lines().find((l) => l['request_id'] === id && l['msg'] === 'request');
  assert.ok(line, `no log line for ${id}`);
  return line;
}

describe('accept-encoding upstream', () => {
  test('not a stream: every coding the gateway decodes; a stream: identity', () => {
    for (const [extra, expected] of [
      [{}, 'gzip, deflate, br'],
      [{ stream: true }, 'identity'],
    ] as const) {
      const router = h.router();
      const { plan } = admit(router, chatBody('gpt-4o-mini', extra), chatHeaders({ 'accept-encoding': 'zstd' }));
      assert.equal(plan.set['accept-encoding'], expected);
      router.close('cancelled');
    }
  });
});

describe('compressed JSON answers', () => {
  test('the case: gzip body with its recorded headers → the completion, usage recorded, no content-encoding', async () => {
    const { router, id, res } = answered(false, { ':status': '200', ...CASE_HEADERS, 'content-length': String(CASE_BODY.length) });
    assert.deepEqual(res['mode_override'], { response_body_mode: 2 });
    const hm = phaseMutation(res, 'response_headers');
    assert.ok(hm.remove.includes('content-encoding'), 'the caller never sees content-encoding');
    assert.ok(hm.remove.includes('content-length'), 'nor the compressed length');
    assert.equal(hm.set['content-encoding'], undefined);
    const { text, replies } = await feed(router, [CASE_BODY]);
    const completion = JSON.parse(text) as { choices: Array<{ message: { content: string } }>; model: string };
    assert.equal(completion.choices[0]!.message.content, 'Compressed hello');
    assert.equal(completion.model, 'gpt-4o-mini');
    assert.equal(phaseMutation(replies[0]!, 'response_body').set['content-length'], String(Buffer.byteLength(text)));
    router.close('done');
    const line = logLine(id);
    assert.equal(line['status'], 200);
    assert.equal(typeof line['tokens_in'], 'number');
    assert.equal(typeof line['tokens_out'], 'number');
  });

  for (const [name, enc] of Object.entries(ENCODE)) {
    test(`${name}: decoded before translation, also when Envoy hands the body over in pieces`, async () => {
      const plain = Buffer.from(wireBytes('openai/chat_text.json'));
      const packed = enc.encode(plain);
      const { router } = answered(false, { ':status': '200', 'content-type': 'application/json', 'content-encoding': enc.header });
      const mid = packed.length >> 1;
      const { text } = await feed(router, [packed.subarray(0, mid), packed.subarray(mid)]);
      const completion = JSON.parse(text) as { object: string };
      assert.equal(completion.object, 'chat.completion');
      router.close('done');
    });
  }

  test('a compressed error body is read: the provider error maps as it would plain', async () => {
    const err = Buffer.from(JSON.stringify({ error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded', param: null } }));
    const { router } = answered(false, { ':status': '429', 'content-type': 'application/json', 'content-encoding': 'br', 'retry-after': '7' });
    const { replies } = await feed(router, [zlib.brotliCompressSync(err)]);
    const m = phaseMutation(replies[0]!, 'response_body');
    assert.equal(m.set[':status'], '429');
    assert.equal(m.set['retry-after'], '7');
    assert.equal(openAIError(JSON.parse(m.body!.toString())).code, 'rate_limit_exceeded');
    router.close('done');
  });

  test('an unknown coding on a success: 502 upstream_unsupported_encoding before anything reaches the caller', () => {
    for (const coding of ['zstd', 'compress', 'x-made-up']) {
      const { router, id, res } = answered(false, { ':status': '200', 'content-type': 'application/json', 'content-encoding': coding });
      const r = immediate(res);
      assert.equal(r.status, 502);
      const e = openAIError(r.json);
      assert.equal(e.code, 'upstream_unsupported_encoding');
      assert.match(e.message, new RegExp(coding));
      router.close('done');
      assert.equal(logLine(id)['error_code'], 'upstream_unsupported_encoding');
    }
  });

  test('an unknown coding on a stream: the same 502, not an event stream', () => {
    const { router, res } = answered(true, { ':status': '200', 'content-type': 'text/event-stream', 'content-encoding': 'zstd' });
    assert.equal(immediate(res).status, 502);
    router.close('done');
  });

  test('an unknown coding on an error status keeps the provider status (its body counts as empty)', () => {
    const { router, res } = answered(false, { ':status': '429', 'content-type': 'application/json', 'content-encoding': 'zstd', 'retry-after': '3' });
    const r = immediate(res);
    assert.equal(r.status, 429);
    assert.equal(r.headers['retry-after'], '3');
    router.close('done');
  });

  test('corrupt bytes on a success: 502 upstream_malformed, never garbage', async () => {
    const { router, id } = answered(false, { ':status': '200', 'content-type': 'application/json', 'content-encoding': 'gzip' });
    const { replies } = await feed(router, [Buffer.from('{"not":"gzip"}')]);
    const r = immediate(replies[0]!);
    assert.equal(r.status, 502);
    assert.equal(openAIError(r.json).code, 'upstream_malformed');
    router.close('done');
    assert.equal(logLine(id)['status'], 502);
  });

  test('a decompression bomb: 502 upstream_too_large at server.maxBodyBytes', async () => {
    const { router } = answered(false, { ':status': '200', 'content-type': 'application/json', 'content-encoding': 'gzip' });
    const bomb = zlib.gzipSync(Buffer.alloc(h.configs.current.maxBodyBytes + 1));
    const { replies } = await feed(router, [bomb]);
    const r = immediate(replies[0]!);
    assert.equal(r.status, 502);
    assert.equal(openAIError(r.json).code, 'upstream_too_large');
    router.close('done');
  });

  test('the uncompressed path stays synchronous', () => {
    const { router } = answered(false, { ':status': '200', 'content-type': 'application/json' });
    const res = router.handle(bodyMessage('response_body', wireBytes('openai/chat_text.json'), true));
    assert.ok(!(res instanceof Promise));
    router.close('done');
  });
});

describe('compressed streams', () => {
  for (const [name, enc] of Object.entries(ENCODE)) {
    test(`${name}: decoded chunk by chunk, the same OpenAI stream as uncompressed`, async () => {
      const packed = enc.encode(Buffer.from(wireBytes('openai/stream_text.sse')));
      const { router, id, res } = answered(true, { ':status': '200', 'content-type': 'text/event-stream', 'content-encoding': enc.header });
      assert.deepEqual(res['mode_override'], { response_body_mode: 1 });
      assert.ok(phaseMutation(res, 'response_headers').remove.includes('content-encoding'));
      const cuts = [0, 1, 2, 57, packed.length >> 1, packed.length - 3, packed.length];
      const pieces = cuts.slice(1).map((end, i) => packed.subarray(cuts[i]!, end));
      const { text } = await feed(router, pieces);
      assertStreamMatches(wireText('openai/stream_text.sse'), text);
      router.close('done');
      const line = logLine(id);
      assert.equal(line['outcome'], 'completed');
      assert.equal(line['tokens_out'], 14);
    });
  }

  test('corrupt bytes mid-stream: an OpenAI error event ends it for the caller, the rest is dropped', async () => {
    const plain = wireBytes('openai/stream_text.sse');
    const packed = zlib.gzipSync(plain);
    const { router, id } = answered(true, { ':status': '200', 'content-type': 'text/event-stream', 'content-encoding': 'gzip' });
    const first = packed.subarray(0, 40);
    const corrupt = Buffer.alloc(64, 0xff);
    const { text, replies } = await feed(router, [first, corrupt, packed.subarray(40), Buffer.alloc(0)]);
    const events = text.split('\n\n').filter((e) => e.startsWith('data: '));
    const last = JSON.parse(events.at(-1)!.slice(6)) as unknown;
    assert.equal(openAIError(last).code, 'upstream_malformed');
    assert.doesNotMatch(text, /\[DONE\]/);
    assert.equal(phaseMutation(replies[2]!, 'response_body').body?.length ?? 0, 0, 'nothing after the error event');
    router.close('done');
    const line = logLine(id);
    assert.equal(line['error_code'], 'upstream_malformed');
    assert.notEqual(line['outcome'], 'completed');
  });

  test('a bomb in one stream chunk fails at the per-chunk bound', async () => {
    const { router } = answered(true, { ':status': '200', 'content-type': 'text/event-stream', 'content-encoding': 'deflate' });
    const bomb = zlib.deflateSync(Buffer.alloc(h.configs.current.maxBodyBytes + 1));
    const { text } = await feed(router, [bomb, Buffer.alloc(0)]);
    assert.match(text, /upstream_too_large/);
    router.close('done');
  });

  test('the request closing mid-decode frees the decoder', async () => {
    const packed = zlib.gzipSync(wireBytes('openai/stream_text.sse'));
    const { router, id } = answered(true, { ':status': '200', 'content-type': 'text/event-stream', 'content-encoding': 'gzip' });
    await router.handle(bodyMessage('response_body', packed.subarray(0, 30), false));
    router.close('cancelled');
    assert.equal(logLine(id)['outcome'], 'aborted');
    assert.equal(h.registry.get(id), undefined);
  });
});
