import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseOpenAIResponse } from '../../../src/dialects/openai-compat/response.ts';
import { UpstreamError } from '../../../src/errors/gateway-error.ts';
import { assertCompletionMatches } from '../../support/openai-compare.ts';
import { utf8, wireBytes, wireText } from '../../support/unit/bytes.ts';

const CTX = { id: 'chatcmpl-gw', created: 1700000000, publicModel: 'public-model' };

for (const name of ['chat_text', 'chat_tool_calls']) {
  test(`${name}: relabelled with the gateway id and public model, content and tool calls unchanged`, () => {
    const { completion } = parseOpenAIResponse(wireBytes(`openai/${name}.json`), CTX);
    assert.equal(completion.id, 'chatcmpl-gw');
    assert.equal(completion.model, 'public-model');
    assert.equal(completion.object, 'chat.completion');
    assertCompletionMatches(JSON.parse(wireText(`openai/${name}.json`)), completion);
    assert.doesNotMatch(JSON.stringify(completion), /gpt-4\.1-mini-2025-04-14/);
  });
}

test('usage is read (cached and reasoning counts included); created kept when the provider sent one', () => {
  const { completion, usage } = parseOpenAIResponse(wireBytes('openai/chat_text.json'), CTX);
  assert.deepEqual(usage, { promptTokens: 1904, completionTokens: 23, cachedTokens: 1792, reasoningTokens: 0 });
  assert.equal(completion.created, 1755012345);
  assert.equal(completion.usage?.total_tokens, 1927);
});

test('no usage → undefined; no created → the context created', () => {
  const { completion, usage } = parseOpenAIResponse(utf8(JSON.stringify({ choices: [{ message: { content: 'x' }, finish_reason: 'stop' }] })), CTX);
  assert.equal(usage, undefined);
  assert.equal(completion.created, 1700000000);
});

test('no choice at all is 502 upstream_empty; a 200 carrying an error object is a 502 without its words', () => {
  assert.throws(
    () => parseOpenAIResponse(utf8('{"choices":[]}'), CTX),
    (err: unknown) => err instanceof UpstreamError && err.status === 502 && err.code === 'upstream_empty',
  );
  assert.throws(
    () => parseOpenAIResponse(utf8('{"error":{"message":"db at 10.0.0.7 down","type":"server_error"}}'), CTX),
    (err: unknown) => err instanceof UpstreamError && err.status === 502 && !err.message.includes('10.0.0.7'),
  );
});

test('malformed bodies are 502 upstream_malformed', () => {
  for (const body of ['<html>', '{}', '{"choices": "no"}', 'null', '[]']) {
    assert.throws(
      () => parseOpenAIResponse(utf8(body), CTX),
      (err: unknown) => err instanceof UpstreamError && err.status === 502 && err.code === 'upstream_malformed',
      body,
    );
  }
});
