import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { anthropicDialect } from '../../src/dialects/anthropic/index.ts';
import type { Dialect, StreamTranslator } from '../../src/dialects/dialect.ts';
import { geminiDialect } from '../../src/dialects/gemini/index.ts';
import { openaiDialect } from '../../src/dialects/openai-compat/index.ts';
import { StreamTally } from '../../src/dialects/stream-tally.ts';
import { UpstreamError } from '../../src/errors/gateway-error.ts';
import { utf8, wireText } from '../support/unit/bytes.ts';

const CTX = { id: 'chatcmpl-test', created: 1, publicModel: 'm', includeUsage: true };

function translator(dialect: Dialect): StreamTranslator {
  return dialect.createStreamTranslator(CTX);
}

/** The fixture's SSE events, each with its blank-line terminator. */
function events(fixture: string): string[] {
  return wireText(fixture)
    .replace(/\r\n/g, '\n')
    .split('\n\n')
    .filter((e) => e.trim() !== '')
    .map((e) => `${e}\n\n`);
}

/** Pushes events one by one; the terminal is set by exactly the push whose output holds it. */
function pushAll(t: StreamTranslator, evs: readonly string[]): string {
  let all = '';
  for (const e of evs) {
    const before = t.terminal;
    const out = t.push(utf8(e));
    all += out;
    if (before === undefined && t.terminal !== undefined) {
      assert.ok(out.includes(t.terminal.kind === 'done' ? 'data: [DONE]' : 'data: {"error"'), 'the terminal is set with its event');
    }
    if (t.terminal === undefined) assert.ok(!out.includes('[DONE]') && !out.includes('"error"'), 'no terminal event before terminal is set');
  }
  return all;
}

describe('StreamTally', () => {
  test('estimates ⌈chars / 4⌉ of the text seen when the provider states no output count', () => {
    const t = new StreamTally();
    t.text('Hello');
    t.text(undefined);
    t.text('! world');
    assert.deepEqual(t.tokens({ promptTokens: 7 }), { promptTokens: 7, completionTokens: 3, completionEstimated: true });
    assert.deepEqual(t.tokens({ promptTokens: 7, completionTokens: 9, cachedTokens: 2 }), { promptTokens: 7, completionTokens: 9, cachedTokens: 2, completionEstimated: false });
  });

  test('the first terminal event wins', () => {
    const t = new StreamTally();
    assert.equal(t.terminal, undefined);
    const err = new UpstreamError(503, 'service_unavailable_error', 'busy', { code: 'server_is_overloaded' });
    assert.match(t.error(err), /^data: \{"error":/);
    assert.equal(t.done(), 'data: [DONE]\n\n');
    assert.deepEqual(t.terminal, { kind: 'error', error: err });
  });
});

describe('Anthropic translator', () => {
  const evs = events('anthropic/stream_text.sse');

  test('input tokens from message_start; output estimated until message_delta counts it', () => {
    const t = translator(anthropicDialect);
    pushAll(t, evs.slice(0, 1));
    assert.deepEqual(t.tokensSoFar(), { promptTokens: 31, cachedTokens: 0, completionTokens: 0, completionEstimated: true });
    pushAll(t, evs.slice(1, 5)); // content_block_start, ping, "Hello", "! How can I help you"
    assert.deepEqual(t.tokensSoFar(), { promptTokens: 31, cachedTokens: 0, completionTokens: Math.ceil('Hello! How can I help you'.length / 4), completionEstimated: true });
    assert.equal(t.terminal, undefined);
    const deltaAt = evs.findIndex((e) => e.includes('message_delta'));
    pushAll(t, evs.slice(5, deltaAt + 1));
    assert.deepEqual(t.tokensSoFar(), { promptTokens: 31, cachedTokens: 0, completionTokens: 16, completionEstimated: false });
    assert.equal(t.terminal, undefined, 'no [DONE] before message_stop');
  });

  test('message_stop writes [DONE]: terminal done before the upstream end, usage final', () => {
    const t = translator(anthropicDialect);
    pushAll(t, evs);
    assert.deepEqual(t.terminal, { kind: 'done' });
    assert.deepEqual(t.usage, { promptTokens: 31, completionTokens: 16, cachedTokens: 0 });
    assert.equal(t.end(), '');
    assert.deepEqual(t.terminal, { kind: 'done' });
  });

  test('an error event is a terminal error carrying the error the caller got', () => {
    const t = translator(anthropicDialect);
    pushAll(t, [...evs.slice(0, 4), 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n']);
    assert.equal(t.terminal?.kind, 'error');
    const err = t.terminal?.kind === 'error' ? t.terminal.error : undefined;
    assert.deepEqual([err?.status, err?.code], [503, 'server_is_overloaded']);
    assert.deepEqual(t.tokensSoFar(), { promptTokens: 31, cachedTokens: 0, completionTokens: 2, completionEstimated: true });
  });

  test('a body that ends without message_stop: end() writes the truncation error as the terminal', () => {
    const t = translator(anthropicDialect);
    pushAll(t, evs.slice(0, 4));
    const out = t.end();
    assert.ok(out.includes('upstream_stream_truncated'));
    assert.equal(t.terminal?.kind === 'error' ? t.terminal.error.code : undefined, 'upstream_stream_truncated');
  });
});

describe('Gemini translator', () => {
  const evs = events('gemini/stream_text.sse');

  test("every event's usageMetadata is Google's own count: input from the first event, output not estimated", () => {
    const t = translator(geminiDialect);
    pushAll(t, evs.slice(0, 1));
    // candidatesTokenCount 5 + thoughtsTokenCount 41.
    assert.deepEqual(t.tokensSoFar(), { promptTokens: 19, cachedTokens: 0, completionTokens: 46, completionEstimated: false });
  });

  test('usageMetadata without an output count: the output is estimated from the streamed parts', () => {
    const t = translator(geminiDialect);
    const event = { candidates: [{ content: { parts: [{ text: 'abcdefgh' }, { text: 'ij', thought: true }], role: 'model' }, index: 0 }], usageMetadata: { promptTokenCount: 12 } };
    pushAll(t, [`data: ${JSON.stringify(event)}\n\n`]);
    assert.deepEqual(t.tokensSoFar(), { promptTokens: 12, cachedTokens: 0, completionTokens: 3, completionEstimated: true });
  });

  test('finish chunks are held until the upstream end: [DONE] and the terminal come with end()', () => {
    const t = translator(geminiDialect);
    pushAll(t, evs);
    assert.equal(t.terminal, undefined);
    assert.ok(t.end().endsWith('data: [DONE]\n\n'));
    assert.deepEqual(t.terminal, { kind: 'done' });
    assert.equal(t.usage?.promptTokens, 19);
  });

  test('an error event is a terminal error', () => {
    const t = translator(geminiDialect);
    pushAll(t, [evs[0]!, 'data: {"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}\n\n']);
    assert.equal(t.terminal?.kind === 'error' ? t.terminal.error.status : undefined, 503);
  });
});

describe('OpenAI-compatible translator', () => {
  const evs = events('openai/stream_text.sse');

  test('no input count before the usage chunk; output estimated from the streamed content', () => {
    const t = translator(openaiDialect);
    pushAll(t, evs.slice(0, 3));
    const so = t.tokensSoFar();
    assert.equal(so.promptTokens, undefined);
    assert.equal(so.completionEstimated, true);
    const text = evs
      .slice(0, 3)
      .map((e) => (JSON.parse(e.slice(6)) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content ?? '')
      .join('');
    assert.equal(so.completionTokens, Math.ceil(text.length / 4));
  });

  test("[DONE] is the terminal; the usage chunk's counts are the provider's", () => {
    const t = translator(openaiDialect);
    pushAll(t, evs);
    assert.deepEqual(t.terminal, { kind: 'done' });
    assert.deepEqual(t.tokensSoFar(), { promptTokens: 29, cachedTokens: 0, completionTokens: 14, completionEstimated: false });
  });

  test('an error object in the stream is a terminal error', () => {
    const t = translator(openaiDialect);
    pushAll(t, [evs[0]!, 'data: {"error":{"message":"boom","type":"server_error","code":null}}\n\n']);
    assert.equal(t.terminal?.kind, 'error');
  });
});
