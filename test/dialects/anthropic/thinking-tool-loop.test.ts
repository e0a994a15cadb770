import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { anthropicDialect } from '../../../src/dialects/anthropic/index.ts';
import { loopOpeningCallIds, loopOpeningIndex } from '../../../src/dialects/anthropic/thinking-loop.ts';
import type { MessageParam } from '../../../src/dialects/anthropic/wire-types.ts';
import type { ThinkingTurn } from '../../../src/dialects/dialect.ts';
import { anthropicBody, bytesOf, chatRequest, messageEnd, messageStart, oneBytePieces, splitAt, sseEvent, streamContext, TARGET } from './helpers.ts';

// Characters JSON escapes, non-ASCII and a surrogate pair: what must come back byte for byte.
const THOUGHT = 'Check the "weather" tool first.\nThen answer — in °C 🌤️.';
const SIGNATURE = 'EuYBCkQYAiJAbc+/def==';
const REDACTED = 'EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qyP';

function answerJson(content: unknown[]): Uint8Array {
  return bytesOf(
    JSON.stringify({
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5-20250929',
      content,
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 20, output_tokens: 30 },
    }),
  );
}

const thinkingBlock = { type: 'thinking', thinking: THOUGHT, signature: SIGNATURE };
const toolUse = (id: string) => ({ type: 'tool_use', id, name: 'get_weather', input: { city: 'Paris' } });

function captureJson(content: unknown[]): ThinkingTurn[] {
  const kept: ThinkingTurn[] = [];
  anthropicDialect.parseResponse(answerJson(content), { ...streamContext(), onThinking: (t) => kept.push(t) });
  return kept;
}

describe('capture from a JSON answer', () => {
  test('thinking + tool calls: the blocks exactly, keyed by the tool-call ids the caller sees', () => {
    const kept = captureJson([thinkingBlock, { type: 'redacted_thinking', data: REDACTED }, { type: 'text', text: 'Checking.' }, toolUse('toolu_A'), toolUse('toolu_B')]);
    assert.deepEqual(kept, [
      {
        toolCallIds: ['toolu_A', 'toolu_B'],
        blocks: [
          { type: 'thinking', thinking: THOUGHT, signature: SIGNATURE },
          { type: 'redacted_thinking', data: REDACTED },
        ],
      },
    ]);
    const { completion } = anthropicDialect.parseResponse(answerJson([thinkingBlock, toolUse('toolu_A')]), streamContext());
    assert.deepEqual(
      completion.choices[0]!.message.tool_calls!.map((c) => c.id),
      ['toolu_A'],
      'the caller sees the same ids',
    );
  });

  test('nothing without tool calls, without thinking, or with an unsigned block', () => {
    assert.deepEqual(captureJson([thinkingBlock, { type: 'text', text: 'Hi' }]), []);
    assert.deepEqual(captureJson([toolUse('toolu_A')]), []);
    assert.deepEqual(captureJson([{ type: 'thinking', thinking: THOUGHT, signature: '' }, toolUse('toolu_A')]), []);
    assert.deepEqual(captureJson([thinkingBlock, { type: 'redacted_thinking' }, toolUse('toolu_A')]), []);
  });
});

describe('capture from a stream', () => {
  const stream =
    messageStart() +
    sseEvent({ type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } }) +
    sseEvent({ type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: THOUGHT.slice(0, 11) } }) +
    sseEvent({ type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: THOUGHT.slice(11) } }) +
    sseEvent({ type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: SIGNATURE } }) +
    sseEvent({ type: 'content_block_stop', index: 0 }) +
    sseEvent({ type: 'content_block_start', index: 1, content_block: { type: 'redacted_thinking', data: REDACTED } }) +
    sseEvent({ type: 'content_block_stop', index: 1 }) +
    sseEvent({ type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 'toolu_S', name: 'get_weather', input: {} } }) +
    sseEvent({ type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '{"city":"Paris"}' } }) +
    sseEvent({ type: 'content_block_stop', index: 2 }) +
    messageEnd('tool_use');
  const bytes = bytesOf(stream);
  const expected: ThinkingTurn = {
    toolCallIds: ['toolu_S'],
    blocks: [
      { type: 'thinking', thinking: THOUGHT, signature: SIGNATURE },
      { type: 'redacted_thinking', data: REDACTED },
    ],
  };

  function run(pieces: readonly Uint8Array[]): { kept: ThinkingTurn[]; out: string; keptBeforeStop: boolean } {
    const kept: ThinkingTurn[] = [];
    const translator = anthropicDialect.createStreamTranslator({ ...streamContext(), onThinking: (t) => kept.push(t) });
    let out = '';
    let keptBeforeStop = false;
    for (const p of pieces) {
      out += translator.push(p);
      if (kept.length > 0 && translator.terminal === undefined) keptBeforeStop = true;
    }
    out += translator.end();
    return { kept, out, keptBeforeStop };
  }

  test('assembled from thinking_delta and signature_delta, handed over once at message_stop', () => {
    const { kept, out, keptBeforeStop } = run([bytes]);
    assert.deepEqual(kept, [expected]);
    assert.equal(keptBeforeStop, false);
    // The caller's stream is what it was without the capture: no thinking text in it.
    const plain = run([bytes]).out;
    const withoutSink = anthropicDialect.createStreamTranslator(streamContext());
    assert.equal(withoutSink.push(bytes) + withoutSink.end(), plain);
    assert.ok(!out.includes('weather" tool first') && !out.includes(SIGNATURE));
  });

  test('the same blocks whatever the byte splits (one byte per push, cut inside a surrogate pair)', () => {
    assert.deepEqual(run(oneBytePieces(bytes)).kept, [expected]);
    const emoji = stream.indexOf('🌤');
    const at = Buffer.byteLength(stream.slice(0, emoji)) + 2;
    assert.deepEqual(run(splitAt(bytes, [at, at + 1, 40, 300])).kept, [expected]);
  });

  test('nothing kept from a stream that breaks before message_stop, or has no tool call', () => {
    const cut = stream.slice(0, stream.indexOf('event: message_delta'));
    assert.deepEqual(run([bytesOf(cut)]).kept, []);
    const noTool =
      messageStart() +
      sseEvent({ type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } }) +
      sseEvent({ type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: SIGNATURE } }) +
      sseEvent({ type: 'content_block_stop', index: 0 }) +
      messageEnd('end_turn');
    assert.deepEqual(run([bytesOf(noTool)]).kept, []);
  });
});

describe('the current tool loop', () => {
  const tool = (id: string) => ({ role: 'tool' as const, tool_call_id: id, content: 'ok' });
  const calls = (...ids: string[]) => ({
    role: 'assistant' as const,
    content: null,
    tool_calls: ids.map((id) => ({ id, type: 'function' as const, function: { name: 'f', arguments: '{}' } })),
  });

  test('OpenAI messages: the ids of the answer that opened the loop', () => {
    const q = { role: 'user' as const, content: 'q' };
    assert.equal(loopOpeningCallIds(chatRequest({ messages: [q] }).messages), undefined);
    assert.deepEqual(loopOpeningCallIds(chatRequest({ messages: [q, calls('a', 'b'), tool('a'), tool('b')] }).messages), ['a', 'b']);
    // A second step of the same loop: the opening answer is still the first one.
    assert.deepEqual(loopOpeningCallIds(chatRequest({ messages: [q, calls('a'), tool('a'), calls('c'), tool('c')] }).messages), ['a']);
    // A finished turn (a text answer, then a new question) starts a new loop.
    const done = [q, calls('a'), tool('a'), { role: 'assistant', content: 'done' }, { role: 'user', content: 'again' }, calls('d'), tool('d')];
    assert.deepEqual(loopOpeningCallIds(chatRequest({ messages: done }).messages), ['d']);
    assert.equal(loopOpeningCallIds(chatRequest({ messages: [q, calls('a'), tool('a'), { role: 'assistant', content: 'done' }, { role: 'user', content: 'more' }] }).messages), undefined);
  });

  test('Anthropic turns: the same opening', () => {
    const use = (id: string): MessageParam => ({ role: 'assistant', content: [{ type: 'tool_use', id, name: 'f', input: {} }] });
    const result = (id: string): MessageParam => ({ role: 'user', content: [{ type: 'tool_result', tool_use_id: id }] });
    const q: MessageParam = { role: 'user', content: 'q' };
    assert.equal(loopOpeningIndex([q]), -1);
    assert.equal(loopOpeningIndex([q, use('a'), result('a')]), 1);
    assert.equal(loopOpeningIndex([q, use('a'), result('a'), use('c'), result('c')]), 1);
    assert.equal(loopOpeningIndex([q, use('a'), result('a'), { role: 'assistant', content: 'x' }, q, use('d'), result('d')]), 5);
  });
});

describe('restore into the request that continues the loop', () => {
  const loop = [
    { role: 'user', content: 'Weather in Paris?' },
    {
      role: 'assistant',
      content: null,
      tool_calls: [
        { id: 'toolu_A', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
        { id: 'toolu_B', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Lyon"}' } },
      ],
    },
    { role: 'tool', tool_call_id: 'toolu_A', content: '18 C' },
    { role: 'tool', tool_call_id: 'toolu_B', content: '20 C' },
  ];
  const kept: ThinkingTurn = {
    toolCallIds: ['toolu_A', 'toolu_B'],
    blocks: [
      { type: 'thinking', thinking: THOUGHT, signature: SIGNATURE },
      { type: 'redacted_thinking', data: REDACTED },
    ],
  };
  const body = (keptThinking: ThinkingTurn | undefined, extra: Record<string, unknown> = {}) =>
    anthropicBody({ messages: loop, reasoning_effort: 'medium', tools: [{ type: 'function', function: { name: 'get_weather' } }], ...extra }, { ...TARGET, ...(keptThinking ? { keptThinking } : {}) });

  test('found: the blocks go first in the opening turn, byte-exact, and thinking stays on', () => {
    const b = body(kept);
    assert.deepEqual(b['thinking'], { type: 'enabled', budget_tokens: 8192 });
    const messages = b['messages'] as Array<{ role: string; content: Array<Record<string, unknown>> }>;
    assert.deepEqual(messages[1]!.content.slice(0, 2), [
      { type: 'thinking', thinking: THOUGHT, signature: SIGNATURE },
      { type: 'redacted_thinking', data: REDACTED },
    ]);
    assert.deepEqual(
      messages[1]!.content.slice(2).map((c) => c['id']),
      ['toolu_A', 'toolu_B'],
    );
    // Byte-exact on the wire: the JSON string of the block as Anthropic sent it.
    const wire = new TextDecoder().decode(anthropicDialect.buildRequest(chatRequest({ messages: loop, reasoning_effort: 'medium' }), { ...TARGET, keptThinking: kept }).body);
    assert.ok(wire.includes(JSON.stringify({ type: 'thinking', thinking: THOUGHT, signature: SIGNATURE })));
  });

  test('not found, or kept for other ids: today\'s fallback, thinking off and nothing added', () => {
    for (const k of [undefined, { ...kept, toolCallIds: ['toolu_A'] }, { ...kept, toolCallIds: ['toolu_B', 'toolu_A'] }]) {
      const b = body(k);
      assert.equal(b['thinking'], undefined);
      const messages = b['messages'] as Array<{ content: Array<{ type: string }> }>;
      assert.ok(messages.every((m) => !Array.isArray(m.content) || m.content.every((c) => c.type !== 'thinking' && c.type !== 'redacted_thinking')));
    }
  });

  test('a continuation whose settings thinking refuses is sent without thinking, not refused', () => {
    const b = body(kept, { temperature: 0.3 });
    assert.equal(b['thinking'], undefined);
    assert.equal(b['temperature'], 0.3);
  });

  test('a request that starts a loop ignores kept blocks', () => {
    const b = anthropicBody({ messages: [{ role: 'user', content: 'hi' }], reasoning_effort: 'low' }, { ...TARGET, keptThinking: kept });
    assert.deepEqual(b['thinking'], { type: 'enabled', budget_tokens: 1024 });
    assert.equal(JSON.stringify(b).includes(SIGNATURE), false);
  });
});
