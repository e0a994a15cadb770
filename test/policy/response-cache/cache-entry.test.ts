import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChatCompletion } from '../../../src/openai/chat-response.ts';
import { completionFromBody, decodeEntry, encodeEntry, whyNotStorable } from '../../../src/policy/response-cache/cache-entry.ts';
import { ALL, TEXT, TOOL_CALLS } from './completions.ts';

const clone = (c: ChatCompletion): ChatCompletion => structuredClone(c);
const MAX = 1024 * 1024;

describe('cache entry', () => {
  for (const [name, completion] of Object.entries(ALL)) {
    it(`${name}: encodes and decodes to the same completion`, () => {
      const encoded = encodeEntry(completion, MAX, 1234);
      assert.ok('bytes' in encoded, JSON.stringify(encoded));
      assert.deepEqual(decodeEntry(encoded.bytes), { completion, storedAt: 1234 });
    });
  }

  it('reads bytes at an offset inside a larger buffer (as a store may return them)', () => {
    const encoded = encodeEntry(TEXT, MAX, 1) as { bytes: Uint8Array };
    const big = new Uint8Array(encoded.bytes.byteLength + 10);
    big.set(encoded.bytes, 5);
    assert.deepEqual(decodeEntry(big.subarray(5, 5 + encoded.bytes.byteLength))?.completion, TEXT);
  });

  it('another schema version, corrupt bytes or a non-completion read as nothing (a miss)', () => {
    const other = Buffer.from(JSON.stringify({ v: 999, at: 1, completion: TEXT }));
    assert.equal(decodeEntry(other), undefined);
    assert.equal(decodeEntry(Buffer.from('{"v":1,"at":1,"completion":')), undefined);
    assert.equal(decodeEntry(Buffer.from(JSON.stringify({ v: 1, at: 1, completion: { object: 'list' } }))), undefined);
    assert.equal(decodeEntry(new Uint8Array([0xff, 0xfe])), undefined);
  });

  it('an entry over maxEntryBytes is not stored', () => {
    const encoded = encodeEntry(TEXT, MAX, 1) as { bytes: Uint8Array };
    assert.deepEqual(encodeEntry(TEXT, encoded.bytes.byteLength - 1, 1), { reason: 'too_large' });
    assert.ok('bytes' in encodeEntry(TEXT, encoded.bytes.byteLength, 1));
  });

  it('reads a JSON answer body the caller was sent', () => {
    assert.deepEqual(completionFromBody(Buffer.from(JSON.stringify(TEXT))), TEXT);
    assert.deepEqual(completionFromBody(JSON.stringify(TEXT)), TEXT);
    assert.equal(completionFromBody('{"error":{"message":"x","type":"api_error","param":null,"code":null}}'), undefined);
    assert.equal(completionFromBody('not json'), undefined);
  });
});

describe('never stored', () => {
  const cases: Array<[string, (c: ChatCompletion) => void, ChatCompletion, string]> = [
    ['content_filter', (c) => (c.choices[0]!.finish_reason = 'content_filter'), TEXT, 'content_filter'],
    ['a choice without a finish reason', (c) => (c.choices[0]!.finish_reason = null), TEXT, 'unfinished'],
    ['no choices', (c) => (c.choices = []), TEXT, 'no_choices'],
    ['no usage', (c) => delete c.usage, TEXT, 'no_usage'],
    ['a tool call cut mid-arguments', (c) => (c.choices[0]!.message.tool_calls![0]!.function.arguments = '{"city":"Pa'), TOOL_CALLS, 'partial_tool_call'],
    ['a tool call without an id', (c) => (c.choices[0]!.message.tool_calls![1]!.id = ''), TOOL_CALLS, 'partial_tool_call'],
    ['a tool call without a name', (c) => (c.choices[0]!.message.tool_calls![0]!.function.name = ''), TOOL_CALLS, 'partial_tool_call'],
  ];
  for (const [name, spoil, base, reason] of cases) {
    it(name, () => {
      const c = clone(base);
      spoil(c);
      assert.equal(whyNotStorable(c), reason);
      assert.deepEqual(encodeEntry(c, MAX), { reason });
    });
  }

  it('a function tool call with empty arguments (a no-parameter function) is complete', () => {
    const c = clone(TOOL_CALLS);
    c.choices[0]!.message.tool_calls![1]!.function.arguments = '';
    assert.equal(whyNotStorable(c), undefined);
  });

  it('a stored entry that would not be stored today is not replayed', () => {
    const c = clone(TEXT);
    c.choices[0]!.finish_reason = 'content_filter';
    assert.equal(decodeEntry(Buffer.from(JSON.stringify({ v: 1, at: 1, completion: c }))), undefined);
  });
});
