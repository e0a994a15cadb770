import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { responseShape } from '../../src/exchange/response-shape.ts';
import { compareOutputs, normalizeCompletion, normalizeStream } from '../support/openai-compare.ts';
import { schemaErrors } from '../support/openai-schema.ts';
import { headersMessage, immediate, openAIError, phaseMutation, syncReply } from '../support/unit/ext-proc.ts';
import { admit, attempt, chatBody, harness, responseBody } from '../support/unit/gateway.ts';
import { wireBytes, wireText } from '../support/unit/bytes.ts';
import { assertValidStream } from '../openai/schema-check.ts';

const h = harness();
after(() => h.close());

const CASE = new URL('../fixtures/cases/nonstandard-finish-reason/', import.meta.url);
const caseJson = readFileSync(new URL('provider-json.json', CASE));

/** Admits a request for `model`, runs the first attempt and the response headers; returns the header mutation. */
function answer(model: string, cluster: string, extra: Record<string, unknown>, contentType: string) {
  const router = h.router();
  const { id } = admit(router, chatBody(model, extra));
  attempt(h, id, cluster, 1);
  const res = syncReply(router.handle(headersMessage('response_headers', { ':status': '200', 'content-type': contentType })));
  return { router, res, ex: h.registry.get(id)! };
}

describe('responseShape', () => {
  test('content type × caller stream', () => {
    assert.equal(responseShape('text/event-stream; charset=utf-8', true), 'stream');
    assert.equal(responseShape('TEXT/EVENT-STREAM', false), 'assemble');
    assert.equal(responseShape('application/json; charset=utf-8', false), 'json');
    assert.equal(responseShape('application/vnd.api+json', true), 'wrap');
    for (const ct of ['text/html; charset=utf-8', '', 'text/plain', 'application/x-ndjson', 'application/jsonp']) assert.equal(responseShape(ct, false), 'unreadable', ct);
  });
});

describe('a provider that answers in the other shape', () => {
  test('SSE to a non-stream request: one chat.completion, JSON content type, usage recorded', () => {
    const { router, res, ex } = answer('gpt-4o-mini', 'openai-primary', {}, 'text/event-stream');
    assert.deepEqual(res['mode_override'], { response_body_mode: 2 }, 'BUFFERED: the status may still change');
    assert.equal(phaseMutation(res, 'response_headers').set['content-type'], 'application/json');
    const { text, last } = responseBody(router, [wireBytes('openai/stream_text.sse')]);
    const completion = JSON.parse(text) as Record<string, unknown>;
    assert.deepEqual(schemaErrors('CreateChatCompletionResponse', completion), []);
    assert.equal(completion['id'], ex.completionId);
    assert.equal(completion['model'], 'gpt-4o-mini');
    assert.equal(last.set[':status'], '200');
    assert.equal(last.set['content-type'], undefined, 'content type unchanged');
    assert.deepEqual(compareOutputs(normalizeStream(wireText('openai/stream_text.sse')), normalizeCompletion(completion)), []);
    assert.deepEqual(ex.usage, { promptTokens: 29, completionTokens: 14, cachedTokens: 0, reasoningTokens: 0 });
    router.close('done');
  });

  test('Anthropic SSE to a non-stream request: the dialect translator assembles it', () => {
    const { router } = answer('claude-sonnet-4-5', 'anthropic', {}, 'text/event-stream');
    const { text } = responseBody(router, [wireBytes('anthropic/stream_text.sse')]);
    const expected = normalizeStream(wireText('expected/anthropic_stream_text.openai.sse'));
    assert.deepEqual(compareOutputs(expected, normalizeCompletion(JSON.parse(text))), []);
    assert.deepEqual(schemaErrors('CreateChatCompletionResponse', JSON.parse(text)), []);
    router.close('done');
  });

  test('JSON to a stream request: chunks and [DONE], announced as SSE', () => {
    const { router, res, ex } = answer('gpt-4o-mini', 'openai-primary', { stream: true, stream_options: { include_usage: true } }, 'application/json');
    assert.deepEqual(res['mode_override'], { response_body_mode: 2 });
    const hm = phaseMutation(res, 'response_headers');
    assert.equal(hm.set['content-type'], 'text/event-stream; charset=utf-8');
    assert.equal(hm.set['cache-control'], 'no-cache');
    const { text, last } = responseBody(router, [wireBytes('openai/chat_text.json')]);
    assert.equal(last.set[':status'], '200');
    assertValidStream(text, true);
    const provider = JSON.parse(wireText('openai/chat_text.json')) as { choices: Array<{ message: { content: string } }> };
    assert.match(text, /"usage":\{"prompt_tokens":1904/);
    assert.ok(text.includes(JSON.stringify(provider.choices[0]!.message.content)));
    assert.deepEqual(ex.usage, { promptTokens: 1904, completionTokens: 23, cachedTokens: 1792, reasoningTokens: 0 });
    router.close('done');
  });

  test('JSON with an `error` finish to a stream request: a 502 JSON error, the content type corrected', () => {
    const { router } = answer('gpt-4o-mini', 'openai-primary', { stream: true }, 'application/json');
    const { text, last } = responseBody(router, [caseJson]);
    assert.equal(last.set[':status'], '502');
    assert.equal(last.set['content-type'], 'application/json');
    assert.equal(openAIError(JSON.parse(text)).code, 'upstream_finish_error');
    router.close('done');
  });

  test('an HTML page (or no content type) with a 200: 502 upstream_malformed at the headers', () => {
    for (const ct of ['text/html; charset=utf-8', '']) {
      const { res } = answer('gpt-4o-mini', 'openai-primary', {}, ct);
      const r = immediate(res);
      assert.equal(r.status, 502);
      assert.equal(r.headers['content-type'], 'application/json');
      assert.equal(openAIError(r.json).code, 'upstream_malformed');
    }
  });

  test('the case JSON to a non-stream request: a 502 error, never a 200', () => {
    const { router, ex } = answer('gpt-4o-mini', 'openai-primary', {}, 'application/json');
    const { text, last } = responseBody(router, [caseJson]);
    assert.equal(last.set[':status'], '502');
    assert.deepEqual(schemaErrors('ErrorResponse', JSON.parse(text)), []);
    assert.equal(ex.errorCode, 'upstream_finish_error');
    router.close('done');
  });

  test('a normal stream still streams (STREAMED), unchanged', () => {
    const { router, res } = answer('gpt-4o-mini', 'openai-primary', { stream: true }, 'text/event-stream');
    assert.deepEqual(res['mode_override'], { response_body_mode: 1 });
    const { text } = responseBody(router, [wireBytes('openai/stream_text.sse')]);
    assertValidStream(text, false);
    assert.equal(normalizeStream(text).content, normalizeStream(wireText('openai/stream_text.sse')).content);
    router.close('done');
  });
});
