import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, mock, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { buildRuntimeConfig } from '../../src/config/runtime.ts';
import { gatewayConfigSchema } from '../../src/config/schema.ts';
import { StreamIdleTimer, stalledStreamError, stalledStreamEvent } from '../../src/exchange/stream-stall.ts';
import { NO_RESPONSE, streamedBodyResponse } from '../../src/extproc/messages.ts';
import { ProcessingResponseType, addFullDuplexStreaming, loadEnvoyProtos } from '../../src/extproc/protos.ts';
import { BodySendMode, type ExtProcResponse } from '../../src/extproc/types.ts';
import { answerOutcome } from '../../src/routing/health/answer.ts';
import { schemaErrors } from '../support/openai-schema.ts';
import { DEMO_CONFIG } from '../support/unit/config.ts';
import { bodyMessage, headersMessage, phaseMutation, syncReply } from '../support/unit/ext-proc.ts';
import { admit, attempt, chatBody, harness, type Harness } from '../support/unit/gateway.ts';
import { wireBytes } from '../support/unit/bytes.ts';

describe('StreamIdleTimer', () => {
  /** A fake monotonic clock moved together with the mocked setTimeout. */
  function clock() {
    let t = 0;
    mock.timers.enable({ apis: ['setTimeout'] });
    return {
      now: () => t,
      advance(ms: number) {
        t += ms;
        mock.timers.tick(ms);
      },
    };
  }

  test('fires once after idleMs of silence from the first touch', (t) => {
    t.after(() => mock.timers.reset());
    const c = clock();
    let fired = 0;
    const timer = new StreamIdleTimer(1000, () => fired++, c.now);
    assert.equal(timer.armed, false, 'not armed before the first chunk');
    timer.touch();
    c.advance(999);
    assert.equal(fired, 0);
    c.advance(1);
    assert.equal(fired, 1);
    assert.equal(timer.armed, false);
    c.advance(5000);
    assert.equal(fired, 1, 'once');
  });

  test('every touch pushes the deadline back: a stream that keeps talking never fires', (t) => {
    t.after(() => mock.timers.reset());
    const c = clock();
    let fired = 0;
    const timer = new StreamIdleTimer(1000, () => fired++, c.now);
    for (let i = 0; i < 50; i++) {
      timer.touch();
      c.advance(600);
    }
    assert.equal(fired, 0);
    // Then silence: it fires idleMs after the last touch, not later.
    c.advance(399);
    assert.equal(fired, 0);
    c.advance(1);
    assert.equal(fired, 1);
  });

  test('stop() before the deadline: never fires', (t) => {
    t.after(() => mock.timers.reset());
    const c = clock();
    let fired = 0;
    const timer = new StreamIdleTimer(1000, () => fired++, c.now);
    timer.touch();
    c.advance(500);
    timer.stop();
    c.advance(10_000);
    assert.equal(fired, 0);
  });
});

describe('the stalled stream’s error event', () => {
  test('an OpenAI error event: 504 timeout_error, upstream_timeout, the gateway’s words', () => {
    const err = stalledStreamError(15_000);
    assert.deepEqual([err.status, err.openaiType, err.code], [504, 'timeout_error', 'upstream_timeout']);
    const event = stalledStreamEvent(err);
    assert.ok(event.startsWith('data: {"error":') && event.endsWith('\n\n'), event);
    const body = JSON.parse(event.slice('data: '.length)) as unknown;
    assert.deepEqual(schemaErrors('ErrorResponse', body), []);
    assert.match((body as { error: { message: string } }).error.message, /nothing for 15 s/);
    assert.match(stalledStreamError(1500).message, /nothing for 1500 ms/);
  });
});

describe('FULL_DUPLEX_STREAMED in the bundled protos', () => {
  test('a streamed_response encodes with Envoy’s field numbers and decodes back', () => {
    const bytes = Buffer.from(ProcessingResponseType.encode(streamedBodyResponse('hi', true)).finish());
    // ProcessingResponse.response_body (4) → BodyResponse.response (1) → CommonResponse.body_mutation (3)
    // → BodyMutation.streamed_response (3) → { body (1): "hi", end_of_stream (2): true }.
    assert.equal(bytes.toString('hex'), '220c0a0a1a081a060a0268691001');
    const back = ProcessingResponseType.toObject(ProcessingResponseType.decode(bytes)) as {
      response_body: { response: { body_mutation: { streamed_response: { body: Uint8Array; end_of_stream: boolean } } } };
    };
    const sr = back.response_body.response.body_mutation.streamed_response;
    assert.equal(Buffer.from(sr.body).toString(), 'hi');
    assert.equal(sr.end_of_stream, true);
  });

  test('mode_override carries FULL_DUPLEX_STREAMED (4) for the response body', () => {
    const bytes = ProcessingResponseType.encode({ response_headers: { response: {} }, mode_override: { response_body_mode: BodySendMode.FULL_DUPLEX_STREAMED } }).finish();
    const back = ProcessingResponseType.toObject(ProcessingResponseType.decode(bytes), { enums: String }) as { mode_override: { response_body_mode: string } };
    assert.equal(back.mode_override.response_body_mode, 'FULL_DUPLEX_STREAMED');
  });

  test('adding the definitions twice changes nothing', () => {
    const root = loadEnvoyProtos('envoy/service/ext_proc/v3/external_processor.proto');
    addFullDuplexStreaming(root);
    addFullDuplexStreaming(root);
    const mutation = root.lookupType('envoy.service.ext_proc.v3.BodyMutation');
    assert.deepEqual(Object.keys(mutation.fields).sort(), ['body', 'clear_body', 'streamed_response']);
    assert.deepEqual(mutation.oneofs['mutation']!.oneof.sort(), ['body', 'clear_body', 'streamed_response']);
  });
});

describe('gateway.yaml timeouts.streamIdleMs', () => {
  const load = (timeouts: unknown) =>
    buildRuntimeConfig(
      gatewayConfigSchema.parse({ providers: { a: { dialect: 'openai', apiKeyEnv: 'K' } }, models: { m: { targets: [{ provider: 'a', model: 'gpt-4o-mini' }], timeouts } }, keys: [{ name: 'k', fromEnv: 'K' }] }),
      'test.yaml',
      { K: 'secret' },
      1,
    ).models.get('m')!;

  test('reaches the runtime model; no Envoy header carries it', () => {
    const m = load({ streamIdleMs: 15_000, firstByteMs: 5000 });
    assert.equal(m.streamIdleMs, 15_000);
    assert.deepEqual(Object.keys(m.timeoutHeaders), ['x-envoy-upstream-rq-per-try-timeout-ms']);
    assert.equal(load({}).streamIdleMs, undefined);
  });

  test('refused at load when Envoy would cut the stream first, with the reason', () => {
    assert.throws(() => load({ streamIdleMs: 60_000 }), /streamIdleMs: below 60000 ms, since envoy.yaml's per_try_idle_timeout \(60 s\)/);
    assert.throws(() => load({ streamIdleMs: 30_000, totalMs: 30_000 }), /streamIdleMs \(30000 ms\) must be below totalMs \(30000 ms\)/);
    assert.throws(() => load({ streamIdleMs: 0 }), /streamIdleMs: at least 1 ms/);
    assert.throws(() => load({ streamIdleMs: 2.5 }), /streamIdleMs: whole milliseconds/);
  });
});

describe('the router-level processor', () => {
  /** Short enough for a unit test; the test waits for the event, it never measures the time. */
  const IDLE_MS = 20;
  let dir: string;
  let configFile: string;

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'llmx-stall-unit-'));
    const doc = parse(readFileSync(DEMO_CONFIG, 'utf8')) as { models: Record<string, Record<string, unknown>> };
    doc.models['gpt-4o-mini']!['timeouts'] = { streamIdleMs: IDLE_MS };
    configFile = path.join(dir, 'gateway.yaml');
    writeFileSync(configFile, stringify(doc));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  interface Streamed {
    body: string;
    endOfStream: boolean;
  }

  /** A FULL_DUPLEX_STREAMED body answer; fails on anything else. */
  function streamed(res: ExtProcResponse | Promise<ExtProcResponse>): Streamed {
    const r = syncReply(res) as { response_body?: { response?: { body_mutation?: { streamed_response?: { body: Uint8Array; end_of_stream: boolean } } } } };
    const sr = r.response_body?.response?.body_mutation?.streamed_response;
    assert.ok(sr, `expected a streamed_response, got ${JSON.stringify(r)}`);
    return { body: Buffer.from(sr.body).toString('utf8'), endOfStream: sr.end_of_stream };
  }

  /** A stream request up to its 200 SSE head; the mode_override the router answered with, and what it pushed unasked. */
  function openStream(h: Harness, model: string, cluster: string, attach = true) {
    const router = h.router();
    const pushed: ExtProcResponse[] = [];
    let onPush: (() => void) | undefined;
    if (attach) {
      router.attach((res) => {
        pushed.push(res);
        onPush?.();
      });
    }
    const { id } = admit(router, chatBody(model, { stream: true }));
    attempt(h, id, cluster, 1);
    const res = syncReply(router.handle(headersMessage('response_headers', { ':status': '200', 'content-type': 'text/event-stream' })));
    phaseMutation(res, 'response_headers');
    const mode = (res['mode_override'] as { response_body_mode: number }).response_body_mode;
    const nextPush = (): Promise<void> => new Promise((resolve) => (onPush = resolve));
    return { router, id, mode, pushed, nextPush };
  }

  const events = (fixture: string): string[] => Buffer.from(wireBytes(fixture)).toString('utf8').replace(/\r\n/g, '\n').split('\n\n').filter((e) => e.trim() !== '').map((e) => `${e}\n\n`);

  test('a model with streamIdleMs takes its streams FULL_DUPLEX_STREAMED, one without keeps STREAMED', () => {
    const h = harness({ configFile });
    try {
      assert.equal(openStream(h, 'gpt-4o-mini', 'openai-primary').mode, BodySendMode.FULL_DUPLEX_STREAMED);
      assert.equal(openStream(h, 'claude-sonnet-4-5', 'anthropic').mode, BodySendMode.STREAMED);
      // No way to send unasked (a server without attach): the setting cannot work, STREAMED as before.
      assert.equal(openStream(h, 'gpt-4o-mini', 'openai-primary', false).mode, BodySendMode.STREAMED);
    } finally {
      h.close();
    }
  });

  test('a stream that does not stall: every chunk answered with the same bytes as STREAMED, the end with end_of_stream', () => {
    const h = harness({ configFile });
    try {
      const pieces = events('openai/stream_text.sse');
      const duplex = openStream(h, 'gpt-4o-mini', 'openai-primary');
      const plain = openStream(h, 'gpt-4o-mini', 'openai-primary', false);
      // Same exchange ids/created would be needed for equal bytes: compare with them blanked.
      const blank = (s: string) => s.replace(/"id":"[^"]*"/g, '"id":""').replace(/"created":\d+/g, '"created":0');
      pieces.forEach((piece, i) => {
        const end = i === pieces.length - 1;
        const a = streamed(duplex.router.handle(bodyMessage('response_body', piece, end)));
        const b = phaseMutation(plain.router.handle(bodyMessage('response_body', piece, end)), 'response_body');
        assert.equal(blank(a.body), blank(b.body?.toString('utf8') ?? ''), `chunk ${i}`);
        assert.equal(a.endOfStream, end);
      });
      duplex.router.close('done');
      assert.equal(duplex.pushed.length, 0, 'nothing sent unasked');
      const line = h.lines().filter((l) => l['msg'] === 'request').at(-1)!;
      assert.equal(line['outcome'], 'completed');
    } finally {
      h.close();
    }
  });

  test('the provider goes silent: one error event with end_of_stream is pushed, later chunks get no answer, the line says aborted/upstream_timeout with the tokens so far', async () => {
    const h = harness({ configFile });
    try {
      const pieces = events('openai/stream_text.sse');
      const s = openStream(h, 'gpt-4o-mini', 'openai-primary');
      const pushedOnce = s.nextPush();
      let text = '';
      for (const piece of pieces.slice(0, 3)) text += streamed(s.router.handle(bodyMessage('response_body', piece, false))).body;
      assert.ok(text.includes('"delta"'));
      // The idle timer is unref'd (it never holds the ext_proc open); here nothing else would keep the loop alive.
      const keepAlive = setInterval(() => {}, 1000);
      await pushedOnce.finally(() => clearInterval(keepAlive));
      assert.equal(s.pushed.length, 1);
      const ev = streamed(s.pushed[0]!);
      assert.equal(ev.endOfStream, true);
      const err = JSON.parse(ev.body.slice('data: '.length)) as { error: { code: string; type: string } };
      assert.deepEqual([err.error.type, err.error.code], ['timeout_error', 'upstream_timeout']);
      // The provider speaks again before Envoy has closed the stream: no answer, nothing more to the caller.
      assert.equal(syncReply(s.router.handle(bodyMessage('response_body', pieces[3]!, false))), NO_RESPONSE);
      const ex = h.registry.get(s.id)!;
      s.router.close('done');
      // Target health: a timeout of the provider (Envoy's upstream log has no entry for it).
      assert.equal(answerOutcome({ ex, outcome: 'aborted', inputEstimated: true })?.result, 'timeout');
      const lines = h.lines().filter((l) => l['msg'] === 'request');
      assert.equal(lines.length, 1);
      const line = lines[0]!;
      assert.deepEqual([line['outcome'], line['status'], line['error_code']], ['aborted', 200, 'upstream_timeout']);
      assert.ok((line['tokens_out'] as number) > 0, JSON.stringify(line));
      assert.equal(s.pushed.length, 1, 'one event only');
    } finally {
      h.close();
    }
  });

  test('no timer before the first body chunk, none after the end', async () => {
    const h = harness({ configFile });
    try {
      const s = openStream(h, 'gpt-4o-mini', 'openai-primary');
      await new Promise((r) => setTimeout(r, IDLE_MS * 3));
      assert.equal(s.pushed.length, 0, 'silent before any body: Envoy would refuse a body answer there');
      const pieces = events('openai/stream_text.sse');
      pieces.forEach((piece, i) => streamed(s.router.handle(bodyMessage('response_body', piece, i === pieces.length - 1))));
      await new Promise((r) => setTimeout(r, IDLE_MS * 3));
      assert.equal(s.pushed.length, 0, 'a finished stream never stalls');
      s.router.close('done');
    } finally {
      h.close();
    }
  });
});
