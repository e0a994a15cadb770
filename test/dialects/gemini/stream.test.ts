import { test } from 'node:test';
import assert from 'node:assert/strict';
import { geminiDialect } from '../../../src/dialects/gemini/index.ts';
import { GatewayError } from '../../../src/errors/gateway-error.ts';
import { normalizeStream } from '../../support/openai-compare.ts';
import { geminiSse, oneBytePieces, streamCtx, translate, withStableIds } from './support.ts';

// Stream translation beyond the recorded fixture: tool calls, multi-byte text, failures.

const usage = (candidates: number) => ({
  promptTokenCount: 10,
  candidatesTokenCount: candidates,
  thoughtsTokenCount: 4,
  totalTokenCount: 14 + candidates,
});

/** Shaped like vercel/ai's recorded google-tool-call.chunks.txt (README G5). */
const toolCallStream = geminiSse([
  { candidates: [{ content: { role: 'model', parts: [{ text: 'Checking Zürich ☀️ and 東京…' }] }, index: 0 }], usageMetadata: usage(5) },
  {
    candidates: [{
      content: {
        role: 'model',
        parts: [
          { functionCall: { name: 'get_weather', args: { location: 'Zürich' } }, thoughtSignature: 'c2lnbmF0dXJlLW9uZQ==' },
          { functionCall: { name: 'get_weather', args: { location: '東京' } } },
        ],
      },
      index: 0,
    }],
    usageMetadata: usage(20),
  },
  { candidates: [{ content: { role: 'model', parts: [{ text: '' }] }, finishReason: 'STOP', index: 0 }], usageMetadata: usage(21) },
]);

function dataOf(sse: string): unknown[] {
  return sse.split('\n\n').filter((e) => e.startsWith('data: {')).map((e) => JSON.parse(e.slice(6)));
}

test('function calls become one complete tool-call delta each, indexed by ordinal; finish is tool_calls', () => {
  const { out, translator } = translate([toolCallStream]);
  const norm = normalizeStream(out);
  assert.deepEqual(norm.problems, []);
  assert.equal(norm.content, 'Checking Zürich ☀️ and 東京…');
  assert.equal(norm.finishReason, 'tool_calls');
  assert.deepEqual([...norm.toolCalls.keys()], [0, 1]);
  assert.deepEqual(JSON.parse(norm.toolCalls.get(0)?.arguments ?? ''), { location: 'Zürich' });
  assert.deepEqual(JSON.parse(norm.toolCalls.get(1)?.arguments ?? ''), { location: '東京' });
  assert.notEqual(norm.toolCalls.get(0)?.id, norm.toolCalls.get(1)?.id);
  assert.match(norm.toolCalls.get(0)?.id ?? '', /_ts_c2lnbmF0dXJlLW9uZQ$/);
  const usageChunk = dataOf(out).at(-1) as { usage: { prompt_tokens: number; completion_tokens: number } };
  assert.deepEqual([usageChunk.usage.prompt_tokens, usageChunk.usage.completion_tokens], [10, 25]);
  assert.deepEqual(translator.usage, { promptTokens: 10, completionTokens: 25, cachedTokens: 0, reasoningTokens: 4 });
});

test('identical output whole, byte by byte, and split at every offset (inside multi-byte characters too)', () => {
  const whole = withStableIds(translate([toolCallStream]).out);
  assert.equal(withStableIds(translate(oneBytePieces(toolCallStream)).out), whole);
  const text = new TextDecoder().decode(toolCallStream);
  const insideMultiByte = Buffer.byteLength(text.slice(0, text.indexOf('東'))) + 1;
  let checkedInside = false;
  for (let at = 0; at <= toolCallStream.length; at++) {
    const out = translate([toolCallStream.subarray(0, at), toolCallStream.subarray(at)]).out;
    assert.equal(withStableIds(out), whole, `split at byte ${at}`);
    checkedInside ||= at === insideMultiByte;
  }
  assert.ok(checkedInside);
});

test('LF-framed events are accepted as well as CRLF (README 7.1)', () => {
  const lf = new TextEncoder().encode(new TextDecoder().decode(toolCallStream).replace(/\r\n/g, '\n'));
  assert.equal(withStableIds(translate([lf]).out), withStableIds(translate([toolCallStream]).out));
});

test('without include_usage: no usage keys and no usage chunk', () => {
  const { out } = translate([toolCallStream], { ...streamCtx, includeUsage: false });
  for (const chunk of dataOf(out)) assert.ok(!('usage' in (chunk as object)));
  assert.ok(out.endsWith('data: [DONE]\n\n'));
});

test('usage is the last usageMetadata, never a sum', () => {
  const { translator } = translate([toolCallStream]);
  assert.equal(translator.usage?.completionTokens, 21 + 4);
});

test('an error object in the stream becomes one OpenAI error event, then nothing', () => {
  const stream = geminiSse([
    { candidates: [{ content: { role: 'model', parts: [{ text: 'Hel' }] }, index: 0 }] },
    { error: { code: 503, message: 'The model is overloaded. Please try again later.', status: 'UNAVAILABLE' } },
    { candidates: [{ content: { role: 'model', parts: [{ text: 'lo' }] }, finishReason: 'STOP', index: 0 }] },
  ]);
  const { out } = translate([stream]);
  const norm = normalizeStream(out);
  assert.deepEqual(norm.problems, []);
  assert.equal(norm.content, 'Hel');
  assert.equal(norm.error?.type, 'service_unavailable_error');
  assert.ok(!out.includes('[DONE]'));
  assert.ok(out.endsWith('\n\n'));
});

test('after an in-stream error, push returns "" and end returns ""', () => {
  const translator = geminiDialect.createStreamTranslator(streamCtx);
  const first = translator.push(geminiSse([{ error: { code: 500, message: 'Internal error', status: 'INTERNAL' } }]));
  assert.match(first, /^data: \{"error":\{/);
  assert.equal(normalizeStream(first).error?.type, 'api_error');
  assert.equal(translator.push(geminiSse([{ candidates: [{ content: { parts: [{ text: 'x' }] }, finishReason: 'STOP' }] }])), '');
  assert.equal(translator.end(), '');
});

test('a stream that ends without finishReason ends with an error event, never [DONE]', () => {
  const truncated = geminiSse([{ candidates: [{ content: { role: 'model', parts: [{ text: 'Hello' }] }, index: 0 }] }]);
  const { out } = translate([truncated]);
  const norm = normalizeStream(out);
  assert.deepEqual(norm.problems, []);
  assert.equal(norm.content, 'Hello');
  assert.ok(norm.error);
  assert.match(out, /"code":"upstream_stream_truncated"/, 'the same code as every other wire format');
  assert.ok(!out.includes('[DONE]'));
});

test('an empty upstream body is an error, not a silent [DONE]', () => {
  const { out } = translate([]);
  assert.match(out, /^data: \{"error":\{/);
  assert.ok(!out.includes('[DONE]'));
});

test('a plain JSON error body sent as the stream (README 4.4) is reported as that error', () => {
  const body = new TextEncoder().encode(JSON.stringify({ error: { code: 429, message: 'Resource has been exhausted', status: 'RESOURCE_EXHAUSTED' } }, null, 2));
  const { out } = translate(oneBytePieces(body));
  const norm = normalizeStream(out);
  assert.equal(norm.error?.type, 'rate_limit_error');
  assert.equal(norm.error?.code, 'rate_limit_exceeded');
});

test('a malformed event is reported as an upstream error', () => {
  const { out } = translate([new TextEncoder().encode('data: {"candidates": [\r\n\r\n')]);
  assert.equal(normalizeStream(out).error?.code, 'upstream_malformed');
});

test('a blocked prompt finishes with content_filter and no content', () => {
  const blocked = geminiSse([{ promptFeedback: { blockReason: 'PROHIBITED_CONTENT' }, usageMetadata: { promptTokenCount: 7, totalTokenCount: 7 } }]);
  const norm = normalizeStream(translate([blocked]).out);
  assert.deepEqual(norm.problems, []);
  assert.equal(norm.finishReason, 'content_filter');
  assert.equal(norm.content, '');
  assert.equal(norm.usage?.prompt_tokens, 7);
});

test('thought parts are not emitted; MAX_TOKENS maps to length; SAFETY to content_filter', () => {
  const make = (finishReason: string) => geminiSse([
    { candidates: [{ content: { parts: [{ text: 'thinking…', thought: true }, { text: 'Answer' }] }, index: 0 }] },
    { candidates: [{ content: { parts: [] }, finishReason, index: 0 }] },
  ]);
  const length = normalizeStream(translate([make('MAX_TOKENS')]).out);
  assert.equal(length.content, 'Answer');
  assert.equal(length.finishReason, 'length');
  assert.equal(normalizeStream(translate([make('SAFETY')]).out).finishReason, 'content_filter');
});

test('push after end throws a GatewayError; end twice throws', () => {
  const { translator } = translate([toolCallStream]);
  assert.throws(() => translator.push(new Uint8Array([1])), GatewayError);
  assert.throws(() => translator.end(), GatewayError);
});

test('several candidates (n > 1) become separate choices, each with role and one finish', () => {
  const stream = geminiSse([
    { candidates: [{ content: { parts: [{ text: 'A' }] }, index: 0 }, { content: { parts: [{ text: 'B' }] }, index: 1 }] },
    { candidates: [{ content: { parts: [{ text: '!' }] }, finishReason: 'STOP', index: 0 }, { content: { parts: [{ text: '?' }] }, finishReason: 'MAX_TOKENS', index: 1 }] },
  ]);
  const chunks = dataOf(translate([stream]).out) as Array<{ choices: Array<{ index: number; delta: { content?: string; role?: string }; finish_reason: string | null }> }>;
  const byChoice = new Map<number, { text: string; roles: number; finishes: string[] }>();
  for (const chunk of chunks) {
    for (const c of chunk.choices) {
      const s = byChoice.get(c.index) ?? { text: '', roles: 0, finishes: [] };
      byChoice.set(c.index, s);
      s.text += c.delta.content ?? '';
      if (c.delta.role) s.roles++;
      if (c.finish_reason) s.finishes.push(c.finish_reason);
    }
  }
  assert.deepEqual(byChoice.get(0), { text: 'A!', roles: 1, finishes: ['stop'] });
  assert.deepEqual(byChoice.get(1), { text: 'B?', roles: 1, finishes: ['length'] });
});
