import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StreamContext } from '../../../src/dialects/dialect.ts';
import { openaiDialect } from '../../../src/dialects/openai-compat/index.ts';
import { OpenAIStreamTranslator } from '../../../src/dialects/openai-compat/stream.ts';
import { assertStreamMatches, normalizeStream, parseOpenAISse } from '../../support/openai-compare.ts';
import { oneBytePieces, splitAt, utf8, wireBytes, wireText } from '../../support/unit/bytes.ts';

const ctx = (includeUsage: boolean): StreamContext => ({ id: 'chatcmpl-gw', created: 1700000000, publicModel: 'public-model', includeUsage });

function translate(pieces: readonly Uint8Array[], includeUsage: boolean): string {
  const t = openaiDialect.createStreamTranslator(ctx(includeUsage));
  let out = '';
  for (const p of pieces) out += t.push(p);
  return out + t.end();
}

/** `data:` payloads parsed (the [DONE] marker kept as a string). */
function events(sse: string): unknown[] {
  return parseOpenAISse(sse).map((d) => (d === '[DONE]' ? d : JSON.parse(d)));
}

const chunk = (delta: Record<string, unknown>, finish: string | null = null, extra: Record<string, unknown> = {}) =>
  `data: ${JSON.stringify({ id: 'up', object: 'chat.completion.chunk', created: 1, model: 'gpt-x', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...extra })}\n\n`;
const usageChunk = `data: ${JSON.stringify({ id: 'up', object: 'chat.completion.chunk', created: 1, model: 'gpt-x', choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } })}\n\n`;

for (const name of ['stream_text', 'stream_tool_calls']) {
  describe(`fixture openai/${name}.sse`, () => {
    const bytes = wireBytes(`openai/${name}.sse`);
    const fixture = wireText(`openai/${name}.sse`);

    for (const includeUsage of [true, false]) {
      test(`include_usage=${includeUsage}: whole, one byte at a time and split at every offset give identical output`, () => {
        const whole = translate([bytes], includeUsage);
        assert.equal(translate(oneBytePieces(bytes), includeUsage), whole, 'one byte per push');
        for (let offset = 1; offset < bytes.length; offset++) {
          const out = translate(splitAt(bytes, offset), includeUsage);
          if (out !== whole) assert.equal(out, whole, `split at ${offset}`);
        }
      });
    }

    test('with include_usage: same answer as the provider, relabelled, usage chunk kept', () => {
      const out = translate([bytes], true);
      assertStreamMatches(fixture, out);
      const norm = normalizeStream(out);
      assert.ok(norm.usage, 'usage chunk present');
      for (const ev of events(out)) {
        if (ev === '[DONE]') continue;
        const c = ev as Record<string, unknown>;
        assert.equal(c['id'], 'chatcmpl-gw');
        assert.equal(c['model'], 'public-model');
        assert.equal(c['object'], 'chat.completion.chunk');
      }
      assert.doesNotMatch(out, /gpt-4\.1-mini-2025-04-14|chatcmpl-C3kR/);
      assert.equal(events(out).at(-1), '[DONE]');
    });

    test('without include_usage: no usage chunk and no usage keys, usage still recorded', () => {
      const t = openaiDialect.createStreamTranslator(ctx(false));
      const out = t.push(bytes) + t.end();
      assert.doesNotMatch(out, /"usage"/);
      const norm = normalizeStream(out);
      assert.deepEqual(norm.problems, []);
      const upstream = normalizeStream(fixture);
      assert.equal(norm.content, upstream.content);
      assert.deepEqual(norm.toolCalls, upstream.toolCalls);
      assert.equal(norm.finishReason, upstream.finishReason);
      assert.ok(t.usage && t.usage.promptTokens > 0);
      assert.equal(events(out).length, events(fixture).length - 1, 'exactly the usage chunk dropped');
    });
  });
}

test('usage from the fixture', () => {
  const t = openaiDialect.createStreamTranslator(ctx(true));
  assert.equal(t.usage, undefined);
  t.push(wireBytes('openai/stream_text.sse'));
  t.end();
  assert.deepEqual(t.usage, { promptTokens: 29, completionTokens: 14, cachedTokens: 0, reasoningTokens: 0 });
});

describe('stream failures', () => {
  test('a mid-stream {"error":…} becomes an OpenAI error event, then nothing', () => {
    const t = openaiDialect.createStreamTranslator(ctx(true));
    let out = t.push(utf8(chunk({ role: 'assistant', content: 'Hel' })));
    out += t.push(utf8(`data: {"error":{"message":"The server had an error (key sk-abcdefghijkl)","type":"server_error","param":null,"code":null}}\n\n${chunk({ content: 'lo' })}`));
    out += t.push(utf8(chunk({}, 'stop') + 'data: [DONE]\n\n'));
    out += t.end();
    const evs = events(out);
    assert.equal(evs.length, 2);
    const error = (evs[1] as { error: Record<string, unknown> }).error;
    assert.deepEqual(Object.keys(error).sort(), ['code', 'message', 'param', 'type']);
    assert.equal(error['type'], 'api_error');
    assert.doesNotMatch(out, /sk-abc|\[DONE\]|"lo"/);
    assert.equal(normalizeStream(out).error !== null, true);
  });

  test('a truncated stream (no finish, no [DONE]) ends with an error event', () => {
    const out = translate([utf8(chunk({ role: 'assistant', content: 'partial' }))], true);
    const evs = events(out);
    assert.equal(evs.length, 2);
    assert.equal((evs[1] as { error: { code: string } }).error.code, 'upstream_stream_truncated');
    assert.doesNotMatch(out, /\[DONE\]/);
  });

  test('a stream cut inside an event ends with an error event, never [DONE]', () => {
    const full = utf8(chunk({ role: 'assistant', content: 'x' }) + chunk({}, 'stop'));
    const out = translate([full.subarray(0, full.length - 30)], true);
    const last = events(out).at(-1) as { error?: { code: string } };
    assert.ok(last.error, 'error event');
    assert.doesNotMatch(out, /\[DONE\]/);
  });

  test('a finished stream without [DONE] gets [DONE] added', () => {
    const out = translate([utf8(chunk({ role: 'assistant', content: 'hi' }) + chunk({}, 'stop') + usageChunk)], true);
    const norm = normalizeStream(out);
    assert.deepEqual(norm.problems, []);
    assert.equal(events(out).at(-1), '[DONE]');
    assert.equal(out.match(/\[DONE\]/g)?.length, 1);
  });

  test('a malformed event is an upstream_malformed error event, then nothing', () => {
    const out = translate([utf8(chunk({ content: 'a' }) + 'data: {not json\n\n' + chunk({}, 'stop') + 'data: [DONE]\n\n')], true);
    const evs = events(out);
    assert.equal(evs.length, 2);
    assert.equal((evs[1] as { error: { code: string } }).error.code, 'upstream_malformed');
  });

  test('anything after [DONE] is ignored', () => {
    const out = translate([utf8(chunk({ content: 'a' }, 'stop') + 'data: [DONE]\n\n' + chunk({ content: 'late' }))], true);
    assert.doesNotMatch(out, /late/);
    assert.equal(events(out).at(-1), '[DONE]');
  });

  test('push after end, and end twice, throw', () => {
    const t = new OpenAIStreamTranslator(ctx(true));
    t.push(utf8(chunk({ content: 'a' }, 'stop')));
    t.end();
    assert.throws(() => t.push(utf8(chunk({ content: 'b' }))), /after end/);
    assert.throws(() => t.end(), /twice/);
  });
});
