import { test } from 'node:test';
import assert from 'node:assert/strict';
import { geminiDialect } from '../../../src/dialects/gemini/index.ts';
import { GatewayError } from '../../../src/errors/gateway-error.ts';
import { responseCtx } from './support.ts';

// Non-stream responses beyond the recorded fixtures.

function parse(value: unknown) {
  return geminiDialect.parseResponse(new TextEncoder().encode(JSON.stringify(value)), responseCtx);
}

function assertUpstream(fn: () => unknown, status: number): void {
  assert.throws(fn, (err: unknown) => err instanceof GatewayError && err.status === status);
}

test('thought parts skipped, text concatenated, several candidates become ordered choices', () => {
  const { completion } = parse({
    candidates: [
      { content: { parts: [{ text: 'B' }] }, finishReason: 'MAX_TOKENS', index: 1 },
      { content: { parts: [{ text: 'plan…', thought: true }, { text: 'A1' }, { text: 'A2', thoughtSignature: 'AAAA' }] }, finishReason: 'STOP', index: 0 },
    ],
  });
  assert.deepEqual(
    completion.choices.map((c) => [c.index, c.message.content, c.finish_reason]),
    [[0, 'A1A2', 'stop'], [1, 'B', 'length']],
  );
  assert.equal(completion.usage, undefined);
});

test('function call with text keeps both; args absent become {}', () => {
  const { completion } = parse({
    candidates: [{ content: { parts: [{ text: 'Sure.' }, { functionCall: { name: 'ping' } }] }, finishReason: 'STOP' }],
    usageMetadata: { promptTokenCount: 3, toolUsePromptTokenCount: 2, candidatesTokenCount: 1, totalTokenCount: 6 },
  });
  const choice = completion.choices[0];
  assert.equal(choice?.message.content, 'Sure.');
  assert.equal(choice?.message.tool_calls?.[0]?.function.arguments, '{}');
  assert.equal(choice?.finish_reason, 'tool_calls');
  assert.deepEqual(completion.usage, {
    prompt_tokens: 5,
    completion_tokens: 1,
    total_tokens: 6,
    prompt_tokens_details: { cached_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0 },
  });
});

test('safety finish and blocked prompt → content_filter with no content', () => {
  const safety = parse({ candidates: [{ finishReason: 'SAFETY', index: 0 }] }).completion.choices[0];
  assert.deepEqual([safety?.message.content, safety?.finish_reason], [null, 'content_filter']);
  const blocked = parse({ promptFeedback: { blockReason: 'SAFETY' }, usageMetadata: { promptTokenCount: 9, totalTokenCount: 9 } });
  assert.deepEqual(blocked.completion.choices, [
    { index: 0, message: { role: 'assistant', content: null, refusal: null }, logprobs: null, finish_reason: 'content_filter' },
  ]);
  assert.equal(blocked.usage?.promptTokens, 9);
});

test('malformed bodies → 502; an error body → its mapped error', () => {
  assertUpstream(() => geminiDialect.parseResponse(new TextEncoder().encode('<html>'), responseCtx), 502);
  assertUpstream(() => parse({ candidates: 'nope' }), 502);
  assertUpstream(() => parse({}), 502);
  assertUpstream(() => parse([]), 502);
  assertUpstream(() => parse({ error: { code: 503, message: 'overloaded', status: 'UNAVAILABLE' } }), 503);
});
