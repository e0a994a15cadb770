import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UpstreamError } from '../../src/errors/gateway-error.ts';
import { normalizeFinishReason } from '../../src/openai/finish-reason.ts';
import { ChunkNormalizer } from '../../src/openai/normalize-chunk.ts';
import { normalizeCompletion } from '../../src/openai/normalize-completion.ts';
import { sanitizeUsage } from '../../src/openai/provider-usage.ts';
import { normalizeStream, parseOpenAISse } from '../support/openai-compare.ts';
import { schemaErrors } from '../support/openai-schema.ts';

const LABEL = { id: 'chatcmpl-0123456789abcdef01234567', created: 1700000000, publicModel: 'public-model' };

describe('normalizeFinishReason', () => {
  for (const [raw, want] of [
    ['stop', 'stop'],
    ['eos', 'stop'],
    ['eos_token', 'stop'],
    ['stop_sequence', 'stop'],
    ['end_turn', 'stop'],
    ['STOP', 'stop'],
    ['model_length', 'length'],
    ['max_tokens', 'length'],
    ['MAX_TOKENS', 'length'],
    ['length', 'length'],
    ['tool_calls', 'tool_calls'],
    ['tool_use', 'tool_calls'],
    ['function_call', 'function_call'],
    ['content_filter', 'content_filter'],
    ['SAFETY', 'content_filter'],
    ['something_new', 'stop'],
    [42, 'stop'],
    ['error', 'error'],
    ['ERROR', 'error'],
  ] as const) {
    test(`${JSON.stringify(raw)} → ${want}`, () => assert.equal(normalizeFinishReason(raw, { hasToolCalls: false }), want));
  }
  test('absent is null; unknown with tool calls is tool_calls; a known value keeps its meaning', () => {
    assert.equal(normalizeFinishReason(null, { hasToolCalls: false }), null);
    assert.equal(normalizeFinishReason(undefined, { hasToolCalls: true }), null);
    assert.equal(normalizeFinishReason('mystery', { hasToolCalls: true }), 'tool_calls');
    assert.equal(normalizeFinishReason('length', { hasToolCalls: true }), 'length');
  });
});

describe('sanitizeUsage', () => {
  test('integers kept, total recomputed, details keep only integers', () => {
    assert.deepEqual(
      sanitizeUsage({ prompt_tokens: 5, completion_tokens: 2, total_tokens: 99, prompt_tokens_details: { cached_tokens: 1, audio_tokens: null }, completion_tokens_details: { reasoning_tokens: 'x' } }),
      { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7, prompt_tokens_details: { cached_tokens: 1 } },
    );
  });
  test('a missing count is derived from total_tokens when the other is known', () => {
    assert.deepEqual(sanitizeUsage({ prompt_tokens: null, completion_tokens: 3, total_tokens: 10 }), { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 });
    assert.deepEqual(sanitizeUsage({ prompt_tokens: 4, total_tokens: 10 }), { prompt_tokens: 4, completion_tokens: 6, total_tokens: 10 });
  });
  test('counts that cannot be stood behind leave the usage out (never null, never a guessed zero)', () => {
    for (const raw of [
      { prompt_tokens: null, completion_tokens: null, total_tokens: 0 },
      { prompt_tokens: 5 },
      { prompt_tokens: 1.5, completion_tokens: 2, total_tokens: 3.5 },
      { prompt_tokens: -1, completion_tokens: 2 },
      { prompt_tokens: '5', completion_tokens: '1' },
      { prompt_tokens: 2, total_tokens: 1 },
      null,
      [],
      'usage',
    ]) {
      assert.equal(sanitizeUsage(raw), undefined, JSON.stringify(raw));
    }
  });
});

describe('normalizeCompletion', () => {
  test('fills what the provider omitted and maps the finish reason', () => {
    const { completion, usage } = normalizeCompletion({ choices: [{ message: { content: 'hi' }, finish_reason: 'eos' }], usage: { prompt_tokens: 3, completion_tokens: 1 } }, LABEL);
    assert.deepEqual(schemaErrors('CreateChatCompletionResponse', completion), []);
    assert.deepEqual(completion, {
      id: LABEL.id,
      object: 'chat.completion',
      created: LABEL.created,
      model: 'public-model',
      choices: [{ index: 0, message: { role: 'assistant', content: 'hi', refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
    });
    assert.deepEqual(usage, { promptTokens: 3, completionTokens: 1 });
  });

  test("a provider's `error` finish is a 502 upstream_finish_error, never a completion", () => {
    assert.throws(
      () => normalizeCompletion({ choices: [{ index: 0, message: { role: 'assistant', content: 'part' }, finish_reason: 'error' }] }, LABEL),
      (err: unknown) => err instanceof UpstreamError && err.status === 502 && err.code === 'upstream_finish_error',
    );
  });

  test('tool calls: ids filled (≤ 40 chars, unique), object arguments stringified, nameless calls dropped', () => {
    const { completion } = normalizeCompletion(
      { choices: [{ message: { tool_calls: [{ function: { name: 'f', arguments: { a: 1 } } }, { id: 'x', function: { name: 'g' } }, { function: {} }, 'junk'] }, finish_reason: null }] },
      LABEL,
    );
    assert.deepEqual(schemaErrors('CreateChatCompletionResponse', completion), []);
    const calls = completion.choices[0]!.message.tool_calls!;
    assert.equal(calls.length, 2);
    assert.ok(calls[0]!.id.length <= 40 && calls[0]!.id.startsWith('call_'));
    assert.deepEqual(calls[0]!.function, { name: 'f', arguments: '{"a":1}' });
    assert.deepEqual(calls[1], { id: 'x', type: 'function', function: { name: 'g', arguments: '{}' } });
    assert.equal(completion.choices[0]!.finish_reason, 'tool_calls', 'a missing reason with calls reads as tool_calls');
  });

  test('schema-breaking optional fields are dropped, unknown message fields (reasoning_content) kept', () => {
    const { completion } = normalizeCompletion(
      {
        id: 'up',
        created: 12.5,
        system_fingerprint: null,
        service_tier: 'on_demand',
        x_groq: { id: 'internal' },
        choices: [{ index: '0', message: { role: 'model', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }], refusal: 3, reasoning_content: 'think', annotations: 'no' }, logprobs: { content: [{ token: 'a' }] }, finish_reason: 'stop' }],
      },
      LABEL,
    );
    assert.deepEqual(schemaErrors('CreateChatCompletionResponse', completion), []);
    const c = completion as unknown as Record<string, unknown>;
    for (const key of ['system_fingerprint', 'service_tier', 'x_groq']) assert.equal(key in c, false, key);
    assert.equal(completion.created, LABEL.created);
    assert.deepEqual(completion.choices[0], { index: 0, message: { role: 'assistant', content: 'ab', refusal: null, reasoning_content: 'think' }, logprobs: null, finish_reason: 'stop' });
  });
});

function run(raws: Array<Record<string, unknown>>, includeUsage: boolean): { out: string; normalizer: ChunkNormalizer; error?: UpstreamError } {
  const normalizer = new ChunkNormalizer({ ...LABEL, includeUsage });
  let out = '';
  for (const raw of raws) {
    const r = normalizer.chunk(raw);
    out += r.text;
    if (r.error) return { out, normalizer, error: r.error };
  }
  return { out: out + normalizer.tail() + 'data: [DONE]\n\n', normalizer };
}

function chunksOf(sse: string): Array<Record<string, unknown>> {
  return parseOpenAISse(sse)
    .filter((d) => d !== '[DONE]')
    .map((d) => JSON.parse(d) as Record<string, unknown>);
}

function assertValidStream(sse: string): void {
  for (const c of chunksOf(sse)) assert.deepEqual(schemaErrors('CreateChatCompletionStreamResponse', c), [], JSON.stringify(c));
  assert.deepEqual(normalizeStream(sse).problems, []);
}

describe('ChunkNormalizer: usage in every shape the provider may send it', () => {
  const content = { choices: [{ index: 0, delta: { role: 'assistant', content: 'Hi' }, finish_reason: null }] };
  const finish = { choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] };
  const usage = { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 };
  const shapes: Record<string, Array<Record<string, unknown>>> = {
    'a separate chunk with choices: []': [content, finish, { choices: [], usage }],
    'a chunk without choices': [content, finish, { usage }],
    'usage on the finish chunk': [content, { ...finish, usage }],
  };
  for (const [name, raws] of Object.entries(shapes)) {
    test(`${name}: one usage chunk with choices [] when asked, none (and no usage key) when forced`, () => {
      const asked = run(raws, true);
      assertValidStream(asked.out);
      const chunks = chunksOf(asked.out);
      assert.deepEqual(chunks.at(-1), { id: LABEL.id, object: 'chat.completion.chunk', created: LABEL.created, model: 'public-model', choices: [], usage });
      assert.equal(chunks.filter((c) => c['usage'] !== null).length, 1);
      assert.equal(chunks.at(-2)!['usage'], null);
      assert.equal((chunks.at(-2)!['choices'] as Array<{ finish_reason: string }>)[0]!.finish_reason, 'stop');

      const forced = run(raws, false);
      assertValidStream(forced.out);
      assert.doesNotMatch(forced.out, /"usage"/);
      assert.equal(chunksOf(forced.out).length, 2);
      assert.deepEqual(forced.normalizer.usage, usage);
    });
  }

  test('null usage counts: the usage chunk is left out, never sent with nulls', () => {
    const { out, normalizer } = run([content, { ...finish, usage: { prompt_tokens: null, completion_tokens: null, total_tokens: null } }], true);
    assertValidStream(out);
    assert.equal(normalizer.usage, undefined);
    assert.ok(chunksOf(out).every((c) => c['usage'] === null));
  });
});

describe('ChunkNormalizer: fills and fixes', () => {
  test('role first, index, logprobs, one finish per choice, open choices finished at [DONE]', () => {
    const { out } = run(
      [
        { choices: [{ delta: { content: 'a' } }] },
        { choices: [{ delta: { content: 'b' }, finish_reason: 'eos' }] },
        { choices: [{ delta: {}, finish_reason: 'stop' }] },
        { choices: [{ index: 1, delta: { content: 'c' } }] },
      ],
      false,
    );
    for (const c of chunksOf(out)) assert.deepEqual(schemaErrors('CreateChatCompletionStreamResponse', c), []);
    const choices = chunksOf(out).flatMap((c) => c['choices'] as Array<Record<string, unknown>>);
    assert.deepEqual(choices[0], { index: 0, delta: { role: 'assistant', content: 'a' }, logprobs: null, finish_reason: null });
    assert.deepEqual(choices.filter((c) => c['finish_reason'] !== null).map((c) => [c['index'], c['finish_reason']]), [
      [0, 'stop'],
      [1, 'stop'],
    ]);
  });

  test('tool-call fragments without index: an id or a second name opens the next call, the rest continue it; missing ids filled', () => {
    const { out } = run(
      [
        { choices: [{ delta: { tool_calls: [{ id: 'c1', function: { name: 'f', arguments: '{"a"' } }] } }] },
        { choices: [{ delta: { tool_calls: [{ function: { arguments: ':1}' } }] } }] },
        { choices: [{ delta: { tool_calls: [{ function: { name: 'g', arguments: { b: 2 } } }] } }] },
        { choices: [{ delta: { tool_calls: [{ index: 2, function: { name: 'h', arguments: '{}' } }] }, finish_reason: 'tool_calls' }] },
      ],
      false,
    );
    assertValidStream(out);
    const calls = normalizeStream(out).toolCalls;
    assert.deepEqual(calls.get(0), { id: 'c1', name: 'f', arguments: '{"a":1}' });
    assert.deepEqual(calls.get(1), { id: 'call_0123456789abcdef01234567_0_1', name: 'g', arguments: '{"b":2}' });
    assert.equal(calls.get(2)?.name, 'h');
    assert.match(calls.get(2)!.id ?? '', /^call_[0-9a-f]{24}_0_2$/);
    assert.equal(calls.size, 3);
  });

  test("`error` finish: the chunk's content goes out, then the stream must end with an error", () => {
    const { out, error } = run([{ choices: [{ delta: { role: 'assistant', content: 'par' } }] }, { choices: [{ delta: { content: 'tial' }, finish_reason: 'error' }] }], true);
    assert.ok(error instanceof UpstreamError && error.code === 'upstream_finish_error' && error.status === 502);
    assert.equal(normalizeStream(out).content, 'partial');
    assert.doesNotMatch(out, /"finish_reason":"error"/);
  });
});
