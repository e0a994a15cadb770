import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StreamAccumulator } from '../../../src/policy/response-cache/stream-accumulator.ts';

const HEAD = { id: 'chatcmpl-s', object: 'chat.completion.chunk', created: 1_700_000_000, model: 'gpt-4o-mini' };
const data = (choices: unknown[], extra: Record<string, unknown> = {}): string => `data: ${JSON.stringify({ ...HEAD, choices, ...extra })}\n\n`;
const delta = (d: Record<string, unknown>, finish: string | null = null, index = 0) => ({ index, delta: d, logprobs: null, finish_reason: finish });
const USAGE = { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 };

/** A stream as translators write it: text in pieces, tool-call fragments, finish, usage, [DONE]. */
const STREAM = [
  data([delta({ role: 'assistant', content: '' })]),
  data([delta({ content: 'Hel' })]),
  data([delta({ content: 'lo é' })]),
  data([delta({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_', arguments: '' } }] })]),
  data([delta({ tool_calls: [{ index: 0, function: { name: 'weather', arguments: '{"ci' } }] })]),
  data([delta({ tool_calls: [{ index: 0, function: { arguments: 'ty":"Paris"}' } }] })]),
  data([delta({}, 'tool_calls')]),
  data([], { usage: USAGE }),
  'data: [DONE]\n\n',
].join('');

const EXPECTED = {
  id: 'chatcmpl-s',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'gpt-4o-mini',
  choices: [
    {
      index: 0,
      message: { role: 'assistant', content: 'Hello é', refusal: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      logprobs: null,
      finish_reason: 'tool_calls',
    },
  ],
  usage: USAGE,
};

describe('stream accumulator', () => {
  it('assembles text and tool-call fragments, from bytes split anywhere (inside a UTF-8 character too)', () => {
    const bytes = Buffer.from(STREAM);
    for (const step of [1, 2, 7, 64, bytes.length]) {
      const acc = new StreamAccumulator(1 << 20);
      for (let i = 0; i < bytes.length; i += step) acc.push(bytes.subarray(i, i + step));
      assert.deepEqual(acc.finish(), { completion: EXPECTED }, `step ${step}`);
    }
  });

  it('takes the settled usage when the stream carried none (the caller did not ask for include_usage)', () => {
    const acc = new StreamAccumulator(1 << 20);
    acc.push(STREAM.replace(data([], { usage: USAGE }), ''));
    const settled = { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 };
    assert.deepEqual(acc.finish(settled), { completion: { ...EXPECTED, usage: settled } });
  });

  it('a stream cut before [DONE] is truncated, even after a finish chunk', () => {
    const acc = new StreamAccumulator(1 << 20);
    acc.push(STREAM.slice(0, STREAM.indexOf('data: [DONE]')));
    assert.deepEqual(acc.finish(USAGE), { reason: 'truncated' });
    const empty = new StreamAccumulator(1 << 20);
    assert.deepEqual(empty.finish(), { reason: 'truncated' });
  });

  it('an error event (provider error, upstream_stream_truncated) is never stored, and stops folding', () => {
    const acc = new StreamAccumulator(1 << 20);
    acc.push(data([delta({ role: 'assistant', content: 'par' })]));
    acc.push(`data: ${JSON.stringify({ error: { message: 'cut', type: 'api_error', param: null, code: 'upstream_stream_truncated' } })}\n\n`);
    assert.equal(acc.notStored, 'upstream_error');
    acc.push('data: [DONE]\n\n');
    assert.deepEqual(acc.finish(USAGE), { reason: 'upstream_error' });
  });

  it('a data line that is not JSON is malformed', () => {
    const acc = new StreamAccumulator(1 << 20);
    acc.push('data: {"id":\n\ndata: [DONE]\n\n');
    assert.deepEqual(acc.finish(USAGE), { reason: 'malformed' });
  });

  it('ignores what follows [DONE]', () => {
    const acc = new StreamAccumulator(1 << 20);
    acc.push(STREAM);
    acc.push(data([delta({ content: 'late' })]));
    assert.deepEqual(acc.finish(), { completion: EXPECTED });
  });

  it('keeps other delta strings (reasoning_content) and several choices apart', () => {
    const acc = new StreamAccumulator(1 << 20);
    acc.push(data([delta({ role: 'assistant', reasoning_content: 'Think ' }), delta({ role: 'assistant', content: 'B' }, null, 1)]));
    acc.push(data([delta({ reasoning_content: 'hard', content: 'A' }, 'stop')]));
    acc.push(data([delta({}, 'length', 1)]));
    acc.push('data: [DONE]\n\n');
    const out = acc.finish(USAGE);
    assert.ok('completion' in out);
    assert.deepEqual(out.completion.choices.map((c) => [c.message.content, (c.message as Record<string, unknown>)['reasoning_content'], c.finish_reason]), [
      ['A', 'Think hard', 'stop'],
      ['B', undefined, 'length'],
    ]);
  });

  it('a choice left without a finish reason assembles with none (so it is not stored: unfinished)', () => {
    const acc = new StreamAccumulator(1 << 20);
    acc.push(data([delta({ role: 'assistant', content: 'x' })]) + 'data: [DONE]\n\n');
    const out = acc.finish(USAGE);
    assert.ok('completion' in out);
    assert.equal(out.completion.choices[0]!.finish_reason, null);
  });

  describe('byte cap', () => {
    /** One choice (64 bytes) whose content is `n` UTF-8 bytes in 10-byte pieces. */
    const feed = (acc: StreamAccumulator, piece: string, pieces: number): void => {
      acc.push(data([delta({ role: 'assistant', content: '' })]));
      for (let i = 0; i < pieces; i++) acc.push(data([delta({ content: piece })]));
      acc.push(data([delta({}, 'stop')]) + 'data: [DONE]\n\n');
    };

    it('stores an answer exactly at the cap, not one byte over', () => {
      const at = new StreamAccumulator(64 + 1000);
      feed(at, 'x'.repeat(10), 100);
      assert.ok('completion' in at.finish(USAGE));
      const over = new StreamAccumulator(64 + 999);
      feed(over, 'x'.repeat(10), 100);
      assert.deepEqual(over.finish(USAGE), { reason: 'too_large' });
    });

    it('counts UTF-8 bytes, not characters', () => {
      const acc = new StreamAccumulator(64 + 1000);
      feed(acc, 'é'.repeat(10), 50); // 500 characters, 1000 bytes: at the cap
      assert.ok('completion' in acc.finish(USAGE));
      const over = new StreamAccumulator(64 + 999);
      feed(over, 'é'.repeat(10), 50);
      assert.deepEqual(over.finish(USAGE), { reason: 'too_large' });
    });

    it('knows as soon as the cap is crossed, and holds nothing after', () => {
      const acc = new StreamAccumulator(100);
      acc.push(data([delta({ role: 'assistant', content: 'y'.repeat(200) })]));
      assert.equal(acc.notStored, 'too_large');
      assert.equal((acc as unknown as { choices: Map<number, unknown> }).choices.size, 0);
    });

    it('many empty tool calls reach the cap too', () => {
      const acc = new StreamAccumulator(64 * 10);
      for (let i = 0; i < 20; i++) acc.push(data([delta({ tool_calls: [{ index: i, function: {} }] })]));
      assert.equal(acc.notStored, 'too_large');
    });
  });
});
