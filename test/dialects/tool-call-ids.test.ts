import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fitsOpenAI, hashedToolCallId, remapToolCallIds } from '../../src/dialects/tool-call-ids.ts';
import { chatMessageSchema, type ChatMessage } from '../../src/openai/chat-request.ts';

const ANTHROPIC_ID = /^[a-zA-Z0-9_-]+$/;
const messages = (...list: unknown[]): ChatMessage[] => list.map((m) => chatMessageSchema.parse(m));
const call = (id: string) => ({ id, type: 'function', function: { name: 'f', arguments: '{}' } });

test('hashedToolCallId: call_ + 24 alnum, pure, fits OpenAI and Anthropic, different ids differ', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const id = `call_${i}_ts_${'s'.repeat(i % 300)}`;
    const hashed = hashedToolCallId(id);
    assert.match(hashed, /^call_[A-Za-z0-9]{24}$/);
    assert.ok(fitsOpenAI(hashed));
    assert.match(hashed, ANTHROPIC_ID);
    assert.equal(hashedToolCallId(id), hashed);
    seen.add(hashed);
  }
  assert.equal(seen.size, 2000);
  assert.match(hashedToolCallId(''), /^call_[A-Za-z0-9]{24}$/);
});

test('remapToolCallIds: undefined when every id fits; otherwise only the messages that change are copied', () => {
  const short = messages({ role: 'user', content: 'hi' }, { role: 'assistant', content: null, tool_calls: [call('call_1')] }, { role: 'tool', tool_call_id: 'call_1', content: 'x' });
  assert.equal(remapToolCallIds(short, fitsOpenAI), undefined);
  const long = 'x'.repeat(41);
  const input = messages(
    { role: 'user', content: 'hi' },
    { role: 'assistant', content: null, tool_calls: [call(long), call('call_2')] },
    { role: 'tool', tool_call_id: long, content: 'x' },
    { role: 'tool', tool_call_id: 'call_2', content: 'y' },
  );
  const snapshot = structuredClone(input);
  const out = remapToolCallIds(input, fitsOpenAI);
  assert.ok(out);
  assert.deepEqual(input, snapshot, 'the caller request is not mutated');
  assert.equal(out[0], input[0]);
  assert.equal(out[3], input[3]);
  assert.deepEqual(out[1], { ...input[1], tool_calls: [call(hashedToolCallId(long)), call('call_2')] });
  assert.deepEqual(out[2], { ...input[2], tool_call_id: hashedToolCallId(long) });
});
