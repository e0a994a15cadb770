import assert from 'node:assert/strict';
import { test } from 'node:test';
import { anthropicDialect } from '../../../src/dialects/anthropic/index.ts';
import type { ResponseContext } from '../../../src/dialects/dialect.ts';
import { UpstreamError } from '../../../src/errors/gateway-error.ts';
import { assertCompletionMatches } from '../../support/openai-compare.ts';
import { bytesOf, fixtureBytes, fixtureJson } from './helpers.ts';

const ctx: ResponseContext = { id: 'chatcmpl-test', created: 1755000000, publicModel: 'support-default' };

function parse(message: Record<string, unknown>) {
  return anthropicDialect.parseResponse(bytesOf(JSON.stringify(message)), ctx);
}

function message(overrides: Record<string, unknown>): Record<string, unknown> {
  return {
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-4-5-20250929',
    content: [{ type: 'text', text: 'ok' }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: 5, output_tokens: 2 },
    ...overrides,
  };
}

for (const name of ['message_text', 'message_tool_use']) {
  test(`golden: anthropic/${name}.json → expected/anthropic_${name}.openai.json`, () => {
    const { completion, usage } = anthropicDialect.parseResponse(fixtureBytes(`anthropic/${name}.json`), ctx);
    assertCompletionMatches(fixtureJson(`expected/anthropic_${name}.openai.json`), completion);
    assert.equal(completion.id, ctx.id);
    assert.equal(completion.created, ctx.created);
    assert.equal(completion.model, ctx.publicModel, 'the provider model is never named');
    assert.ok(usage);
  });
}

test('usage: prompt = input + cache writes + cache reads; cached = cache reads', () => {
  const { completion, usage } = parse(message({ usage: { input_tokens: 10, cache_creation_input_tokens: 100, cache_read_input_tokens: 1000, output_tokens: 7 } }));
  assert.deepEqual(usage, { promptTokens: 1110, completionTokens: 7, cachedTokens: 1000, cacheWriteTokens: 100 });
  assert.deepEqual(completion.usage, { prompt_tokens: 1110, completion_tokens: 7, total_tokens: 1117, prompt_tokens_details: { cached_tokens: 1000 } });
});

test('text blocks concatenate; thinking and unknown blocks are dropped; tool input becomes compact JSON', () => {
  const { completion } = parse(
    message({
      content: [
        { type: 'thinking', thinking: 'hmm', signature: 'sig' },
        { type: 'text', text: 'A' },
        { type: 'redacted_thinking', data: 'xyz' },
        { type: 'text', text: 'B' },
        { type: 'tool_use', id: 'toolu_1', name: 'f', input: { x: [1, { y: 'ü' }] } },
        { type: 'tool_use', id: 'toolu_2', name: 'g', input: {} },
      ],
      stop_reason: 'tool_use',
    }),
  );
  const msg = completion.choices[0]?.message;
  assert.equal(msg?.content, 'AB');
  assert.deepEqual(msg?.tool_calls, [
    { id: 'toolu_1', type: 'function', function: { name: 'f', arguments: '{"x":[1,{"y":"ü"}]}' } },
    { id: 'toolu_2', type: 'function', function: { name: 'g', arguments: '{}' } },
  ]);
  assert.equal(completion.choices[0]?.finish_reason, 'tool_calls');
});

test('a tool-call-only reply has content null; an empty reply has content ""', () => {
  const tool = parse(message({ content: [{ type: 'tool_use', id: 'toolu_1', name: 'f', input: {} }], stop_reason: 'tool_use' }));
  assert.equal(tool.completion.choices[0]?.message.content, null);
  const empty = parse(message({ content: [] }));
  assert.equal(empty.completion.choices[0]?.message.content, '');
  assert.equal('tool_calls' in (empty.completion.choices[0]?.message ?? {}), false);
});

test('stop_reason → finish_reason', () => {
  const cases: Array<[string | null, string]> = [
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['max_tokens', 'length'],
    ['model_context_window_exceeded', 'length'],
    ['tool_use', 'tool_calls'],
    ['refusal', 'content_filter'],
    ['pause_turn', 'stop'],
    ['something_new', 'stop'],
    ['toString', 'stop'],
    [null, 'stop'],
  ];
  for (const [stop, finish] of cases) {
    assert.equal(parse(message({ stop_reason: stop })).completion.choices[0]?.finish_reason, finish, String(stop));
  }
});

test('malformed bodies → UpstreamError 502', () => {
  const bodies: Uint8Array[] = [
    bytesOf('not json'),
    bytesOf('{"type":"message"'),
    new Uint8Array([0x7b, 0xff, 0x7d]),
    bytesOf('[]'),
    bytesOf(JSON.stringify(message({ type: 'error' }))),
    bytesOf(JSON.stringify(message({ content: 'text' }))),
    bytesOf(JSON.stringify(message({ content: [{ type: 'text' }] }))),
    bytesOf(JSON.stringify(message({ content: [{ type: 'tool_use', name: 'f', input: {} }] }))),
    bytesOf(JSON.stringify(message({ usage: { input_tokens: -1, output_tokens: 2 } }))),
    bytesOf(JSON.stringify(message({ usage: undefined }))),
  ];
  for (const body of bodies) {
    assert.throws(
      () => anthropicDialect.parseResponse(body, ctx),
      (err: unknown) => err instanceof UpstreamError && err.status === 502 && err.code === 'upstream_malformed',
      new TextDecoder().decode(body),
    );
  }
});
