import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI, { APIError } from 'openai';
import { parse, stringify } from 'yaml';
import { hello, startTestStack, type TestStack } from '../support/e2e.ts';
import { schemaErrors } from '../support/openai-schema.ts';
import { withNeutralHealth } from '../support/neutral-health.ts';

/**
 * A stream whose provider goes silent mid-way, on a model with `timeouts.streamIdleMs`, through
 * the real Envoy (issue 9, item 5): the caller gets the chunks so far, then one OpenAI error
 * event and a clean end of the body (the SDK raises an APIError, not a connection error), and the
 * request is logged `aborted`, `upstream_timeout`, with the tokens so far. Streams that do not
 * stall are the bytes they are on a model without the setting. Every dialect, since each
 * provider's stream is translated chunk by chunk in the FULL_DUPLEX_STREAMED body mode.
 */

const PROJECT = path.resolve(import.meta.dirname, '../..');
const IDLE_MS = 1_000;
/** Far beyond IDLE_MS and below envoy.yaml's per_try_idle_timeout (60 s), which must not be what ends it. */
const STALL_MS = 20_000;
/** The models given `streamIdleMs`, by the simulator that serves them. */
const DIALECTS = [
  { model: 'gpt-4o-mini', sim: 'openai-primary' },
  { model: 'claude-sonnet-4-5', sim: 'anthropic' },
  { model: 'gemini-2.5-flash', sim: 'gemini' },
] as const;
/** A model on the same target as gpt-4o-mini, without the setting (today's STREAMED body mode). */
const PLAIN_MODEL = 'gpt-4o-mini-plain';

let dir: string;
let gw: TestStack;
let client: OpenAI;

/** The demo config with `streamIdleMs` on DIALECTS' models, PLAIN_MODEL added, and neutral target health. */
function stallConfig(): string {
  const doc = parse(readFileSync(path.join(PROJECT, 'config/gateway.yaml'), 'utf8')) as { models: Record<string, Record<string, unknown>> };
  for (const { model } of DIALECTS) {
    const m = doc.models[model]!;
    m['timeouts'] = { ...(m['timeouts'] as object | undefined), streamIdleMs: IDLE_MS };
  }
  doc.models[PLAIN_MODEL] = { targets: [{ provider: 'openai-primary', model: 'gpt-4o-mini' }] };
  const file = path.join(dir, 'gateway.stall.yaml');
  writeFileSync(file, stringify(doc));
  return withNeutralHealth(dir, file);
}

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'llmx-stall-event-'));
  gw = await startTestStack({ configFile: stallConfig() });
  client = gw.client();
});

after(async () => {
  await gw?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const assertChunk = (v: unknown): void => assert.deepEqual(schemaErrors('CreateChatCompletionStreamResponse', v), []);

for (const d of DIALECTS) {
  describe(`${d.model}: the provider goes silent after 5 events`, () => {
    test('the SDK gets the chunks so far, then an APIError upstream_timeout; the log says aborted with the tokens so far', async () => {
      gw.sims[d.sim]!.enqueueFault({ chunks: 8, stallAfterEvents: 5, stallMs: STALL_MS });
      const abortedBefore = await gw.metric('gateway_requests_total', { model: d.model, outcome: 'aborted' });
      const { data: stream, response } = await client.chat.completions.create({ model: d.model, messages: hello, stream: true }).withResponse();
      let text = '';
      let chunks = 0;
      const err = await (async () => {
        for await (const chunk of stream) {
          assertChunk(chunk);
          chunks++;
          text += chunk.choices[0]?.delta.content ?? '';
        }
      })().then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof APIError, `an APIError after ${chunks} chunks, got ${String(err)}`);
      assert.deepEqual(schemaErrors('ErrorResponse', { error: err.error }), []);
      const body = err.error as { type?: string; code?: string; message?: string };
      assert.equal(body.code, 'upstream_timeout');
      assert.equal(body.type, 'timeout_error');
      assert.match(body.message ?? '', /stopped sending/);
      assert.ok(text.length > 0, 'content before the stall reached the caller');

      const line = await gw.requestLog(response.headers.get('x-request-id'));
      assert.equal(line['outcome'], 'aborted', JSON.stringify(line));
      assert.equal(line['error_code'], 'upstream_timeout');
      assert.equal(line['status'], 200, 'the status the caller got: the 200 head');
      assert.ok((line['tokens_out'] as number) > 0, `the output so far is counted: ${JSON.stringify(line)}`);
      assert.ok((line['tokens_in'] as number) > 0, 'the input is counted');
      assert.equal(await gw.metric('gateway_requests_total', { model: d.model, outcome: 'aborted' }), abortedBefore + 1);
    });
  });
}

describe('over raw HTTP', () => {
  /** Envoy's counter of upstream requests it reset itself, for the openai-primary cluster. */
  async function upstreamResets(): Promise<number> {
    const text = await (await fetch(`${gw.adminUrl}/stats?filter=^cluster\\.openai-primary\\.upstream_rq_tx_reset$`)).text();
    return Number(/: (\d+)/.exec(text)?.[1] ?? 'NaN');
  }

  test('the stalled stream is one error event and a clean end of the chunked body, no [DONE]; Envoy resets the silent upstream request', async () => {
    const resetsBefore = await upstreamResets();
    gw.sims['openai-primary']!.enqueueFault({ chunks: 8, stallAfterEvents: 2, stallMs: STALL_MS });
    const res = await gw.raw('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.demoKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: hello, stream: true }),
    });
    assert.equal(res.status, 200);
    // A reset would reject here; a clean end resolves.
    const text = await res.text();
    const events = text.split('\n\n').filter((e) => e.length > 0);
    assert.ok(events.length >= 2, text);
    const last = events.at(-1)!;
    assert.ok(last.startsWith('data: {"error":'), last);
    assert.equal(JSON.parse(last.slice('data: '.length)).error.code, 'upstream_timeout');
    assert.ok(!text.includes('[DONE]'));
    for (const e of events.slice(0, -1)) assertChunk(JSON.parse(e.slice('data: '.length)));
    // Not left open until the provider speaks again: the caller's body ended, so Envoy reset it.
    assert.equal(await upstreamResets(), resetsBefore + 1, 'cluster.openai-primary.upstream_rq_tx_reset');
  });

  test('over HTTP/2 + TLS: the error event, then END_STREAM, no RST_STREAM', async () => {
    gw.sims['openai-primary']!.enqueueFault({ chunks: 8, stallAfterEvents: 3, stallMs: STALL_MS });
    const session = http2.connect(gw.httpsUrl, { ca: readFileSync(gw.certs.caCert) });
    try {
      const got = await new Promise<{ status: number | undefined; text: string }>((resolve, reject) => {
        const req = session.request({
          ':method': 'POST',
          ':path': '/v1/chat/completions',
          authorization: `Bearer ${gw.demoKey}`,
          'content-type': 'application/json',
        });
        let status: number | undefined;
        let text = '';
        req.on('response', (h) => (status = h[':status']));
        req.setEncoding('utf8');
        req.on('data', (c: string) => (text += c));
        // 'end' is END_STREAM; a reset would be an 'error' (ERR_HTTP2_STREAM_ERROR).
        req.on('end', () => resolve({ status, text }));
        req.on('error', reject);
        req.end(JSON.stringify({ model: 'gpt-4o-mini', messages: hello, stream: true }));
      });
      assert.equal(got.status, 200);
      const last = got.text.split('\n\n').filter((e) => e.length > 0).at(-1)!;
      assert.equal(JSON.parse(last.slice('data: '.length)).error.code, 'upstream_timeout');
    } finally {
      session.close();
    }
  });

  test('a compressed stream that stalls ends the same way', async () => {
    gw.sims['openai-primary']!.enqueueFault({ chunks: 8, stallAfterEvents: 5, stallMs: STALL_MS, contentEncoding: 'gzip' });
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: hello, stream: true });
    let chunks = 0;
    const err = await (async () => {
      for await (const _ of stream) chunks++;
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof APIError, `an APIError after ${chunks} chunks, got ${String(err)}`);
    assert.equal((err.error as { code?: string }).code, 'upstream_timeout');
    assert.ok(chunks > 0);
  });
});

describe('streams that do not stall', () => {
  /** The stream's bytes with what differs per request (id, created, obfuscation) and the model name blanked. */
  async function normalizedStream(model: string, fault: Record<string, unknown>): Promise<string> {
    gw.sims['openai-primary']!.enqueueFault(fault);
    const res = await gw.raw('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.demoKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: hello, stream: true, stream_options: { include_usage: true } }),
    });
    assert.equal(res.status, 200);
    const text = await res.text();
    return text
      .replace(/"id":"[^"]*"/g, '"id":""')
      .replace(/"created":\d+/g, '"created":0')
      .replace(/"obfuscation":"[^"]*"/g, '"obfuscation":""')
      .replaceAll(`"model":"${model}"`, '"model":""');
  }

  test('byte for byte what a model without the setting sends, slow chunks included', async () => {
    for (const fault of [{}, { chunks: 5, chunkDelayMs: IDLE_MS / 2 }, { splitBytes: 'every-byte' }]) {
      const withIdle = await normalizedStream('gpt-4o-mini', fault);
      const plain = await normalizedStream(PLAIN_MODEL, fault);
      assert.equal(withIdle, plain, JSON.stringify(fault));
      assert.ok(withIdle.endsWith('data: [DONE]\n\n'), withIdle.slice(-200));
    }
  });

  test('the SDK reads a normal stream to its end, logged completed with the provider’s usage', async () => {
    const { data: stream, response } = await client.chat.completions
      .create({ model: 'claude-sonnet-4-5', messages: hello, stream: true, stream_options: { include_usage: true } })
      .withResponse();
    let usage: OpenAI.CompletionUsage | undefined;
    let finish: string | null = null;
    for await (const chunk of stream) {
      assertChunk(chunk);
      usage = chunk.usage ?? usage;
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(finish, 'stop');
    const line = await gw.requestLog(response.headers.get('x-request-id'));
    assert.equal(line['outcome'], 'completed');
    assert.equal(line['tokens_out'], usage?.completion_tokens);
  });

  test('afterwards Envoy and the ext_proc still serve', async () => {
    assert.equal((await fetch(`${gw.adminUrl}/ready`)).status, 200);
    const answer = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: hello });
    assert.ok(answer.choices[0]?.message.content);
  });
});
