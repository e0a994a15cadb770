import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import OpenAI from 'openai';
import { hello, startTestStack, type TestStack } from '../support/e2e.ts';
import { schemaErrors } from '../support/openai-schema.ts';

/**
 * Providers that compress their answers, through real Envoy with the official SDK: the case's
 * recorded gzip body, every coding on JSON and on streams (for each wire format), and a coding the
 * gateway cannot read.
 */
const CASE = path.resolve(import.meta.dirname, '../fixtures/cases/gzip-upstream-body');
const caseRequest = JSON.parse(readFileSync(path.join(CASE, 'request.json'), 'utf8')) as { messages: OpenAI.ChatCompletionMessageParam[] };
const caseReply = JSON.parse(readFileSync(path.join(CASE, 'provider-headers.json'), 'utf8')) as { status: number; headers: Record<string, string> };
const caseBody = readFileSync(path.join(CASE, 'provider-body.json.gz'));

/** A model of the demo config per wire format, and the simulated provider that serves it first. */
const ROUTES = [
  { format: 'openai', model: 'gpt-4o-mini', sim: 'openai-primary' },
  { format: 'anthropic', model: 'claude-sonnet-4-5', sim: 'anthropic' },
  { format: 'gemini', model: 'gemini-2.5-flash', sim: 'gemini' },
] as const;
const CODINGS = ['gzip', 'deflate', 'deflate-raw', 'br'] as const;

let gw: TestStack;
before(async () => {
  gw = await startTestStack();
});
after(async () => {
  await gw?.dispose();
});
beforeEach(() => {
  for (const sim of Object.values(gw.sims)) sim.reset();
});


function acceptEncodingSent(sim: string): string | undefined {
  const reqs = gw.sims[sim]!.requests;
  assert.equal(reqs.length, 1);
  return reqs[0]!.headers['accept-encoding'];
}

describe('the case: a gzip body from an OpenAI-compatible provider', () => {
  test('200, "Compressed hello", usage recorded; the provider was asked for what the gateway reads', async () => {
    gw.sims['openai-primary']!.enqueueFault({
      replay: { status: caseReply.status, contentType: caseReply.headers['content-type']!, body: caseBody, headers: caseReply.headers },
    });
    const { data, response } = await gw
      .client()
      .chat.completions.create({ model: 'gpt-4o-mini', messages: caseRequest.messages }, { headers: { 'accept-encoding': 'zstd' } })
      .withResponse();
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-encoding'), null);
    assert.equal(data.choices[0]!.message.content, 'Compressed hello');
    assert.deepEqual(schemaErrors('CreateChatCompletionResponse', data), []);
    assert.equal(acceptEncodingSent('openai-primary'), 'gzip, deflate, br', "the gateway's own, not the caller's");
    const line = await gw.requestLog(response.headers.get('x-request-id'));
    assert.equal(line['status'], 200);
    assert.equal(line['tokens_in'], 9);
    assert.equal(line['tokens_out'], 3);
  });
});

describe('every coding, every wire format', () => {
  for (const route of ROUTES) {
    for (const coding of CODINGS) {
      test(`${route.format}, ${coding}: JSON`, async () => {
        gw.sims[route.sim]!.enqueueFault({ contentEncoding: coding });
        const { data, response } = await gw.client().chat.completions.create({ model: route.model, messages: hello }).withResponse();
        assert.equal(response.status, 200);
        assert.match(data.choices[0]!.message.content ?? '', /simulated answer/);
        assert.deepEqual(schemaErrors('CreateChatCompletionResponse', data), []);
        const line = await gw.requestLog(response.headers.get('x-request-id'));
        assert.equal(line['tokens_out'], data.usage!.completion_tokens);
      });

      test(`${route.format}, ${coding}: stream, cut at random offsets, read by the SDK`, async () => {
        gw.sims[route.sim]!.enqueueFault({ contentEncoding: coding, splitBytes: 'random', splitSeed: 11 });
        const { data: stream, response } = await gw
          .client()
          .chat.completions.create({ model: route.model, messages: hello, stream: true, stream_options: { include_usage: true } })
          .withResponse();
        assert.equal(response.headers.get('content-encoding'), null);
        let text = '';
        let usage: OpenAI.CompletionUsage | null | undefined;
        for await (const chunk of stream) {
          assert.deepEqual(schemaErrors('CreateChatCompletionStreamResponse', chunk), []);
          text += chunk.choices[0]?.delta.content ?? '';
          if (chunk.usage) usage = chunk.usage;
        }
        assert.match(text, /simulated answer/);
        assert.ok(usage && usage.completion_tokens > 0);
        assert.equal(acceptEncodingSent(route.sim), 'identity', 'streams ask for no compression');
        const line = await gw.requestLog(response.headers.get('x-request-id'));
        assert.equal(line['outcome'], 'completed');
        assert.equal(line['tokens_out'], usage.completion_tokens);
      });
    }
  }
});

describe('a coding the gateway cannot read', () => {
  for (const stream of [false, true]) {
    test(`zstd, ${stream ? 'stream' : 'JSON'}: 502 upstream_unsupported_encoding, an OpenAI error`, async () => {
      gw.sims['openai-primary']!.enqueueFault({ contentEncoding: 'zstd' });
      const err = await gw
        .client()
        .chat.completions.create({ model: 'gpt-4o-mini', messages: hello, stream })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(err instanceof OpenAI.APIError, String(err));
      assert.equal(err.status, 502);
      assert.equal(err.code, 'upstream_unsupported_encoding');
      assert.deepEqual(schemaErrors('ErrorResponse', { error: err.error }), []);
      const line = await gw.requestLog(err.headers?.get('x-request-id'));
      assert.equal(line['status'], 502);
      assert.equal(line['error_code'], 'upstream_unsupported_encoding');
    });
  }

  test('a compressed provider error keeps its meaning: 429 with retry-after', async () => {
    gw.sims['anthropic']!.enqueueFault({ contentEncoding: 'br', status: 429, retryAfter: 4 });
    const res = await gw.raw('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.demoKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', messages: hello }),
    });
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), '4');
    assert.equal(res.headers.get('content-encoding'), null);
    const body = (await res.json()) as { error: { type: string } };
    assert.equal(body.error.type, 'rate_limit_error');
  });
});
