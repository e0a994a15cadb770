import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import OpenAI from 'openai';
import { authHeaders, hello, startTestStack, type TestStack } from '../support/e2e.ts';
import { schemaErrors } from '../support/openai-schema.ts';
import { assertValidStream } from '../openai/schema-check.ts';

/**
 * Issue 7 item 2 through real Envoy, with the official SDK as the caller: an OpenAI-compatible
 * provider replays the bytes of shared/cases/nonstandard-finish-reason (and answers in the
 * other shape than asked), and what reaches the caller is valid OpenAI output or an OpenAI error.
 */
const CASE = path.resolve(import.meta.dirname, '../fixtures/cases/nonstandard-finish-reason');
const caseJson = readFileSync(path.join(CASE, 'provider-json.json'));
const caseSse = readFileSync(path.join(CASE, 'provider-stream.sse'));
const SIM = 'openai-primary';
const MODEL = 'gpt-4o-mini';

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

function replay(contentType: string, body: Uint8Array | string, split = false): void {
  gw.sims[SIM]!.enqueueFault({ replay: { status: 200, contentType, body }, ...(split ? { splitBytes: 'random' as const, splitSeed: 7 } : {}) });
}


describe('case nonstandard-finish-reason through Envoy', () => {
  test('provider-json.json: finish_reason "error" → the SDK gets a 502 OpenAI error, not a completion', async () => {
    replay('application/json', caseJson);
    const err = await gw
      .client()
      .chat.completions.create({ model: MODEL, messages: hello })
      .then(
        () => assert.fail('a completion was returned'),
        (e: unknown) => e,
      );
    assert.ok(err instanceof OpenAI.APIError, String(err));
    assert.equal(err.status, 502);
    assert.equal(err.code, 'upstream_finish_error');
    assert.equal(err.type, 'api_error');
    assert.deepEqual(schemaErrors('ErrorResponse', { error: err.error }), []);
    assert.equal(gw.sims['openai-backup']!.requests.length, 0, 'a 200 from the provider is not retried');
    const line = await gw.requestLog(err.headers?.get('x-request-id'));
    assert.deepEqual([line['status'], line['error_code']], [502, 'upstream_finish_error']);
  });

  test('provider-stream.sse with include_usage: "eos" reads "stop", the usage chunk has choices [], usage recorded', async () => {
    replay('text/event-stream', caseSse, true);
    const { data: stream, response } = await gw
      .client()
      .chat.completions.create({ model: MODEL, messages: hello, stream: true, stream_options: { include_usage: true } })
      .withResponse();
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.equal(chunks.length, 3);
    assert.deepEqual(chunks[0]!.choices[0]!.delta, { role: 'assistant', content: 'Hi' });
    assert.equal(chunks[1]!.choices[0]!.finish_reason, 'stop');
    assert.deepEqual(chunks[2]!.choices, []);
    assert.deepEqual(chunks[2]!.usage, { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 });
    for (const c of chunks) assert.deepEqual(schemaErrors('CreateChatCompletionStreamResponse', c), []);
    const line = await gw.requestLog(response.headers.get('x-request-id'));
    assert.deepEqual([line['status'], line['outcome'], line['tokens_in'], line['tokens_out']], [200, 'completed', 5, 1]);
  });

  test('provider-stream.sse without include_usage: no usage anywhere, the bytes on the wire validate', async () => {
    replay('text/event-stream', caseSse);
    const res = await gw.raw('/v1/chat/completions', { method: 'POST', headers: authHeaders(gw), body: JSON.stringify({ model: MODEL, messages: hello, stream: true }) });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const text = await res.text();
    assertValidStream(text, false);
    assert.doesNotMatch(text, /"usage"|eos/);
  });
});

describe('a provider that answers in the other shape, through Envoy', () => {
  test('SSE to a non-stream request: the SDK gets one chat.completion', async () => {
    replay('text/event-stream', caseSse, true);
    const { data, response } = await gw.client().chat.completions.create({ model: MODEL, messages: hello }).withResponse();
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(schemaErrors('CreateChatCompletionResponse', data), []);
    assert.equal(data.object, 'chat.completion');
    assert.equal(data.model, MODEL);
    assert.deepEqual(data.choices, [{ index: 0, message: { role: 'assistant', content: 'Hi', refusal: null }, logprobs: null, finish_reason: 'stop' }]);
    assert.deepEqual(data.usage, { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 });
  });

  test('JSON to a stream request: the SDK streams it, ending with [DONE]', async () => {
    const completion = { id: 'x', object: 'chat.completion', created: 1764460800, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'Wrapped' }, finish_reason: 'eos' }], usage: { prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 } };
    replay('application/json', JSON.stringify(completion));
    const stream = await gw.client().chat.completions.create({ model: MODEL, messages: hello, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      assert.deepEqual(schemaErrors('CreateChatCompletionStreamResponse', chunk), []);
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    assert.deepEqual([text, finish, usage], ['Wrapped', 'stop', { prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 }]);
  });

  test('an HTML page with a 200: a clear 502 upstream_malformed in JSON', async () => {
    replay('text/html; charset=utf-8', '<html><body>Welcome to nginx!</body></html>');
    const res = await gw.raw('/v1/chat/completions', { method: 'POST', headers: authHeaders(gw), body: JSON.stringify({ model: MODEL, messages: hello }) });
    assert.equal(res.status, 502);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const body = (await res.json()) as { error: { code: string } };
    assert.deepEqual(schemaErrors('ErrorResponse', body), []);
    assert.equal(body.error.code, 'upstream_malformed');
  });
});
