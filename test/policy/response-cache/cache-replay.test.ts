import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assembleCompletion } from '../../../src/openai/assemble-chunks.ts';
import type { ChatCompletion } from '../../../src/openai/chat-response.ts';
import { replayCompletion, replayReply, type ReplayLabel } from '../../../src/policy/response-cache/cache-replay.ts';
import { StreamAccumulator } from '../../../src/policy/response-cache/stream-accumulator.ts';
import { assertValidStream } from '../../openai/schema-check.ts';
import { schemaErrors } from '../../support/openai-schema.ts';
import { ALL, REFUSAL, TEXT } from './completions.ts';

const STORED_AT = 1_800_000_000_000;
const label = (over: Partial<ReplayLabel> = {}): ReplayLabel => ({ id: 'chatcmpl-fresh', created: 1_800_000_090, publicModel: 'gpt-4o-mini', stream: false, includeUsage: false, ...over });
const entry = (completion: ChatCompletion) => ({ completion, storedAt: STORED_AT });
const text = (body: string | Uint8Array): string => (typeof body === 'string' ? body : Buffer.from(body).toString('utf8'));
/** Assembled back by the stream accumulator the request path stores with. */
const accumulate = (sse: string, usage?: ChatCompletion['usage']): ChatCompletion => {
  const acc = new StreamAccumulator(1024 * 1024);
  // Split everywhere a network might: one character at a time.
  for (const ch of sse) acc.push(ch);
  const out = acc.finish(usage);
  assert.ok('completion' in out, JSON.stringify(out));
  return out.completion;
};

describe('replay as JSON', () => {
  for (const [name, completion] of Object.entries(ALL)) {
    it(`${name}: a 200 that validates, with this request's id, created and model and the stored choices and usage`, () => {
      const reply = replayReply(entry(completion), label({ publicModel: 'fast' }), STORED_AT + 90_500);
      assert.equal(reply.status, 200);
      assert.deepEqual(reply.headers, { 'content-type': 'application/json', 'x-gateway-cache': 'hit', age: '90' });
      assert.match(reply.details, /^llm_extproc_/);
      const body = JSON.parse(text(reply.body)) as ChatCompletion;
      assert.deepEqual(schemaErrors('CreateChatCompletionResponse', body), []);
      assert.deepEqual(body, { ...completion, id: 'chatcmpl-fresh', created: 1_800_000_090, model: 'fast' });
    });
  }

  it('age is never negative (a clock step between replicas)', () => {
    assert.equal(replayReply(entry(TEXT), label(), STORED_AT - 5000).headers['age'], '0');
  });
});

describe('replay as SSE', () => {
  for (const [name, completion] of Object.entries(ALL)) {
    for (const includeUsage of [true, false]) {
      it(`${name}, include_usage ${includeUsage}: a well-formed stream that assembles back to the stored answer`, () => {
        const reply = replayReply(entry(completion), label({ stream: true, includeUsage }), STORED_AT);
        assert.equal(reply.status, 200);
        assert.deepEqual(reply.headers, { 'content-type': 'text/event-stream; charset=utf-8', 'x-gateway-cache': 'hit', age: '0' });
        const sse = text(reply.body);
        assertValidStream(sse, includeUsage);
        assert.ok(sse.endsWith('data: [DONE]\n\n'));
        const expected = replayCompletion(entry(completion), label());
        // completion-to-chunks.ts opens a choice that has neither content nor tool calls with `content: ""`.
        if (completion === REFUSAL) expected.choices[0]!.message.content = '';
        if (includeUsage) assert.deepEqual(accumulate(sse), expected);
        else {
          assert.equal(accumulate(sse).usage, undefined);
          assert.deepEqual(accumulate(sse, completion.usage), expected);
        }
        // And the gateway's own non-stream assembler reads it the same way.
        const identity = { push: (b: Uint8Array) => Buffer.from(b).toString('utf8'), end: () => '' };
        const assembled = assembleCompletion(identity, Buffer.from(sse), { id: 'chatcmpl-fresh', created: 0, publicModel: 'gpt-4o-mini' });
        assert.deepEqual(assembled.choices, expected.choices);
      });
    }
  }
});
