import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StreamTranslator } from '../../src/dialects/dialect.ts';
import { bodyMessage, headersMessage, phaseMutation } from '../support/unit/ext-proc.ts';
import { admit, attempt, chatBody, harness } from '../support/unit/gateway.ts';
import { wireBytes } from '../support/unit/bytes.ts';

/**
 * Issue 12 item 7 at the router-level filter: a stream the provider breaks after its 200 head,
 * while Envoy still lets the gateway write (the upstream body ends cleanly), ends with one
 * OpenAI error event and no `[DONE]`, and is settled `failed` with that error's status and code
 * in the log line and the metrics, never `completed`/200. (A reset or idle timeout is Envoy's
 * to handle: see test/e2e/fault-matrix.e2e.test.ts.)
 */

const DIALECTS = [
  { model: 'gpt-4o-mini', cluster: 'openai-primary', fixture: 'openai/stream_text.sse' },
  { model: 'claude-sonnet-4-5', cluster: 'anthropic', fixture: 'anthropic/stream_text.sse' },
  { model: 'gemini-2.5-flash', cluster: 'gemini', fixture: 'gemini/stream_text.sse' },
] as const;

/** The fixture's first events, cut at an event boundary before its end (no finish, no end event). */
function firstEvents(fixture: string): Buffer {
  const bytes = Buffer.from(wireBytes(fixture));
  const text = bytes.toString('utf8').replace(/\r\n/g, '\n');
  const events = text.split('\n\n').filter((e) => e.trim() !== '');
  // Every fixture has at least three events; the first two never include the end.
  return Buffer.from(`${events.slice(0, 2).join('\n\n')}\n\n`);
}

type Harness = ReturnType<typeof harness>;

/** A stream request through the router up to its 200 SSE head; returns the router and the request id. */
function openStream(h: Harness, model: string, cluster: string) {
  const router = h.router();
  const { id } = admit(router, chatBody(model, { stream: true }));
  attempt(h, id, cluster, 1);
  phaseMutation(router.handle(headersMessage('response_headers', { ':status': '200', 'content-type': 'text/event-stream' })), 'response_headers');
  return { router, id };
}

/** Feeds body pieces (the last with end_of_stream); every reply must be a body mutation, never an ImmediateResponse. */
function feed(router: ReturnType<Harness['router']>, pieces: ReadonlyArray<string | Uint8Array>): string {
  let text = '';
  pieces.forEach((piece, i) => {
    const m = phaseMutation(router.handle(bodyMessage('response_body', piece, i === pieces.length - 1)), 'response_body');
    text += m.body?.toString('utf8') ?? '';
  });
  return text;
}

function lastEvent(text: string): { error?: { code: string | null; type: string; message: string } } {
  const events = text.split('\n\n').filter((e) => e.startsWith('data: '));
  const last = events.at(-1)!;
  return last === 'data: [DONE]' ? {} : (JSON.parse(last.slice(6)) as { error?: { code: string | null; type: string; message: string } });
}

async function requestsTotal(h: Harness, labels: Record<string, string>): Promise<number> {
  const metric = await h.sinks.metrics.requests.get();
  return metric.values.filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k as keyof typeof v.labels]) === want)).reduce((n, v) => n + v.value, 0);
}

for (const d of DIALECTS) {
  describe(`${d.model}: a broken stream that Envoy still lets the gateway end`, () => {
    const broken = [
      { name: 'truncated (clean end without the end event)', tail: '', code: 'upstream_stream_truncated' },
      { name: 'malformed JSON in an event', tail: 'data: {"choices":[{"delta":\n\n', code: 'upstream_malformed' },
    ];
    for (const b of broken) {
      test(`${b.name}: an OpenAI error event, no [DONE], logged and counted failed/502`, async () => {
        const h = harness();
        try {
          const { router } = openStream(h, d.model, d.cluster);
          const text = feed(router, [firstEvents(d.fixture), b.tail]);
          assert.ok(text.includes('"delta"'), 'the chunks so far went out');
          assert.ok(!text.includes('[DONE]'), 'never a clean [DONE]');
          const err = lastEvent(text).error;
          assert.ok(err, `the stream ends with an error event: ${text.slice(-300)}`);
          assert.deepEqual([err.type, err.code], ['api_error', b.code]);
          router.close('done');
          const line = h.lines().filter((l) => l['msg'] === 'request').at(-1)!;
          assert.deepEqual([line['outcome'], line['status'], line['error_code']], ['failed', 502, b.code]);
          assert.equal(await requestsTotal(h, { model: d.model, outcome: 'failed', status: '502', stream: 'true' }), 1);
          assert.equal(await requestsTotal(h, { outcome: 'completed' }), 0);
        } finally {
          h.close();
        }
      });
    }

    test('the provider closes the stream after the error event arrived: settled once, failed', () => {
      const h = harness();
      try {
        const { router } = openStream(h, d.model, d.cluster);
        const text = feed(router, [firstEvents(d.fixture), '', '']);
        assert.ok(lastEvent(text).error);
        router.close('cancelled');
        const lines = h.lines().filter((l) => l['msg'] === 'request');
        assert.equal(lines.length, 1);
        assert.equal(lines[0]!['outcome'], 'failed');
      } finally {
        h.close();
      }
    });
  });
}

describe('a translator that throws mid-stream', () => {
  test('the caller gets an OpenAI error event (not a reset), the rest is dropped, the line says failed/500, no stack trace logged', async () => {
    const h = harness();
    try {
      const { router, id } = openStream(h, 'gpt-4o-mini', 'openai-primary');
      const ex = h.registry.get(id)!;
      const real = ex.translator!;
      let pushes = 0;
      const flaky: StreamTranslator = {
        push: (chunk) => {
          if (++pushes === 2) throw new TypeError("Cannot read properties of undefined (reading 'delta')");
          return real.push(chunk);
        },
        end: () => real.end(),
        get usage() {
          return real.usage;
        },
        get terminal() {
          return real.terminal;
        },
        tokensSoFar: () => real.tokensSoFar(),
      };
      ex.translator = flaky;
      const bytes = wireBytes('openai/stream_text.sse');
      const text = feed(router, [bytes.subarray(0, 400), bytes.subarray(400, 800), bytes.subarray(800)]);
      const err = lastEvent(text).error;
      assert.ok(err, text);
      assert.deepEqual([err.type, err.code], ['server_error', 'internal_error']);
      assert.ok(!/TypeError|reading 'delta'|\.ts:\d+/.test(text), 'nothing internal reaches the caller');
      assert.equal(text.split('data: {"error"').length, 2, 'exactly one error event');
      router.close('done');
      const line = h.lines().filter((l) => l['msg'] === 'request').at(-1)!;
      assert.deepEqual([line['outcome'], line['status'], line['error_code']], ['failed', 500, 'internal_error']);
      assert.ok(h.lines().some((l) => l['msg'] === 'stream translation failed'), 'the operator sees what broke');
      assert.ok(!h.raw.some((l) => /\n\s+at /.test(JSON.parse(l).error ?? '') || l.includes('"stack"')), 'no stack trace in a log line');
    } finally {
      h.close();
    }
  });
});
