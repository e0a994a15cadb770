import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildOpenAIRequest } from '../../../src/dialects/openai-compat/request.ts';
import { chatRequestSchema } from '../../../src/openai/chat-request.ts';

const TARGET = { providerModel: 'gpt-4.1-mini', defaultMaxTokens: 4096 };
const req = (body: Record<string, unknown>) => chatRequestSchema.parse({ model: 'public-name', messages: [{ role: 'user', content: 'hi' }], ...body });
const sent = (r: ReturnType<typeof buildOpenAIRequest>) => JSON.parse(Buffer.from(r.body).toString('utf8')) as Record<string, unknown>;

test('path and content type', () => {
  const r = buildOpenAIRequest(req({}), TARGET);
  assert.equal(r.path, '/chat/completions');
  assert.deepEqual(r.headers, { 'content-type': 'application/json' });
});

test('the model is replaced; every other field, known or not, is kept', () => {
  const body = sent(
    buildOpenAIRequest(req({ temperature: 0.2, tools: [{ type: 'function', function: { name: 'f' } }], logit_bias: { '1': 2 }, vendor_x: { a: 1 } }), TARGET),
  );
  assert.equal(body['model'], 'gpt-4.1-mini');
  assert.equal(body['temperature'], 0.2);
  assert.deepEqual(body['logit_bias'], { '1': 2 });
  assert.deepEqual(body['vendor_x'], { a: 1 });
  assert.deepEqual(body['messages'], [{ role: 'user', content: 'hi' }]);
  assert.equal((body['tools'] as Array<{ function: { name: string } }>)[0]!.function.name, 'f');
  assert.equal('stream_options' in body, false, 'not added for a non-stream request');
});

test('streams: include_usage forced on, other stream_options kept', () => {
  assert.deepEqual(sent(buildOpenAIRequest(req({ stream: true }), TARGET))['stream_options'], { include_usage: true });
  assert.deepEqual(sent(buildOpenAIRequest(req({ stream: true, stream_options: { include_usage: false, x: 1 } }), TARGET))['stream_options'], {
    include_usage: true,
    x: 1,
  });
});

test('stream: false leaves stream_options as the caller sent them', () => {
  const body = sent(buildOpenAIRequest(req({ stream: false, stream_options: { include_usage: false } }), TARGET));
  assert.deepEqual(body['stream_options'], { include_usage: false });
});

test('same model name and nothing to force: the caller body goes through unchanged', () => {
  const same = { ...TARGET, providerModel: 'public-name' };
  for (const r of [buildOpenAIRequest(req({}), same), buildOpenAIRequest(req({ stream: true, stream_options: { include_usage: true } }), same)]) {
    assert.equal(r.bodyUnchanged, true);
    assert.equal(r.body.length, 0);
    assert.equal(r.path, '/chat/completions');
  }
  const forced = buildOpenAIRequest(req({ stream: true }), same);
  assert.notEqual(forced.bodyUnchanged, true);
  assert.deepEqual(sent(forced)['stream_options'], { include_usage: true });
});

// Issue 7 item 4: history from Gemini carries the gateway's ~160-character ids; OpenAI takes ≤ 40.
test('tool-call ids over 40 characters become call_<hash>, the same in tool_calls and tool messages; others are kept', () => {
  const long = `call_${'A'.repeat(24)}_ts_${'s'.repeat(128)}`;
  const call = (id: string) => ({ id, type: 'function', function: { name: 'f', arguments: '{}' } });
  const same = { ...TARGET, providerModel: 'public-name' };
  const r = buildOpenAIRequest(
    req({
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: null, tool_calls: [call(long), call('toolu_01T1x1fJ34qAmk2tNTrN7Up6')], extra: 1 },
        { role: 'tool', tool_call_id: long, content: 'a' },
        { role: 'tool', tool_call_id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', content: 'b' },
      ],
    }),
    same,
  );
  assert.notEqual(r.bodyUnchanged, true, 'a body that must change is sent changed');
  const messages = sent(r)['messages'] as Array<Record<string, unknown>>;
  const calls = messages[1]!['tool_calls'] as Array<{ id: string; function: unknown }>;
  assert.match(calls[0]!.id, /^call_[A-Za-z0-9]{24}$/);
  assert.equal(calls[1]!.id, 'toolu_01T1x1fJ34qAmk2tNTrN7Up6');
  assert.equal(messages[2]!['tool_call_id'], calls[0]!.id);
  assert.equal(messages[3]!['tool_call_id'], 'toolu_01T1x1fJ34qAmk2tNTrN7Up6');
  assert.deepEqual(calls[0]!.function, { name: 'f', arguments: '{}' });
  assert.equal(messages[1]!['extra'], 1, 'unknown message fields are kept');
  assert.deepEqual(messages[0], { role: 'user', content: 'hi' });
  // Deterministic: another replica translating the next request maps the same id alike.
  const again = sent(buildOpenAIRequest(req({ messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: null, tool_calls: [call(long)] }, { role: 'tool', tool_call_id: long, content: 'a' }] }), same));
  assert.equal((again['messages'] as Array<{ tool_calls?: Array<{ id: string }> }>)[1]!.tool_calls![0]!.id, calls[0]!.id);
});

test('ids of 40 characters or fewer keep the fast path', () => {
  const id = `call_${'x'.repeat(35)}`;
  const r = buildOpenAIRequest(
    req({ messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: null, tool_calls: [{ id, type: 'function', function: { name: 'f', arguments: '{}' } }] }, { role: 'tool', tool_call_id: id, content: 'a' }] }),
    { ...TARGET, providerModel: 'public-name' },
  );
  assert.equal(r.bodyUnchanged, true);
});
