import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { authHeaders, hello, startTestStack, type TestStack } from '../support/e2e.ts';

/**
 * Issue 12, items 2 and 5, through the real Envoy: one caller's huge request cannot stall the
 * others (robustness-extproc-head-of-line-blocking), and the provider gets what the gateway
 * checked (robustness-duplicate-json-keys-forwarded-verbatim).
 */
let gw: TestStack;
before(async () => {
  gw = await startTestStack();
});
after(async () => {
  await gw?.dispose();
});


describe('one caller cannot stall the others', () => {
  // The case's shape: 10.7 MB of 300,000 short messages.
  const huge = JSON.stringify({ model: 'claude-sonnet-4-5', messages: Array.from({ length: 300_000 }, (_, i) => ({ role: 'user', content: `m${i}` })) });

  test('16 huge requests in flight: each is refused naming messages, every small request is served', async () => {
    const client = gw.client();
    const large = Array.from({ length: 16 }, () => gw.postChat(huge));
    const small = Array.from({ length: 40 }, (_, i) =>
      client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `small ${i}` }] }),
    );
    const [larges, smalls] = await Promise.all([Promise.all(large), Promise.allSettled(small)]);
    for (const { status, json } of larges) {
      assert.equal(status, 400, JSON.stringify(json));
      assert.equal(json.error.type, 'invalid_request_error');
      assert.equal(json.error.param, 'messages');
      assert.equal(json.error.code, 'array_above_max_length');
      assert.match(json.error.message, /at most 4096 messages/);
    }
    const failed = smalls.filter((s) => s.status === 'rejected');
    assert.deepEqual(failed.map((f) => String((f as PromiseRejectedResult).reason)), []);
    for (const s of smalls) assert.equal((s as PromiseFulfilledResult<{ object: string }>).value.object, 'chat.completion');
  });

  test('a large request within the limits is served (translated for Anthropic)', async () => {
    // 4,095 turns alternating from the user's (Anthropic wants that), about 0.9 MB.
    const messages = Array.from({ length: 4095 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `turn ${i} ${'x'.repeat(200)}` })) as Array<{ role: 'user' | 'assistant'; content: string }>;
    const answer = await gw.client().chat.completions.create({ model: 'claude-sonnet-4-5', messages });
    assert.equal(answer.object, 'chat.completion');
    assert.ok(answer.choices[0]!.message.content);
  });

  test('too many values in a field the gateway does not read is refused naming that field; nothing goes upstream', async () => {
    const before = gw.sims['openai-primary']!.requests.length;
    const { status, json } = await gw.postChat(JSON.stringify({ model: 'gpt-4o-mini', messages: hello, metadata_blob: Array.from({ length: 200_000 }, (_, i) => i) }));
    assert.equal(status, 400);
    assert.equal(json.error.param, 'metadata_blob');
    assert.equal(json.error.code, 'too_many_json_values');
    assert.equal(gw.sims['openai-primary']!.requests.length, before);
  });
});

describe('what the gateway checked is what the provider gets', () => {
  test('the case: {"model":"o1-pro", ..., "model":"gpt-4o-mini"} is refused and never reaches a provider', async () => {
    const before = gw.sims['openai-primary']!.requests.length;
    const { status, json } = await gw.postChat('{"model":"o1-pro","messages":[{"role":"user","content":"Hello"}],"model":"gpt-4o-mini"}');
    assert.equal(status, 400);
    assert.equal(json.error.type, 'invalid_request_error');
    assert.equal(json.error.code, 'invalid_json');
    assert.equal(json.error.param, 'model');
    assert.equal(gw.sims['openai-primary']!.requests.length, before);
  });

  for (const [name, body, param] of [
    ['stream twice', '{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Hi"}],"stream":false}', 'stream'],
    ['stream_options.include_usage twice', '{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":false,"include_usage":true},"messages":[{"role":"user","content":"Hi"}]}', 'stream_options.include_usage'],
    ['a message role twice', '{"model":"gpt-4o-mini","messages":[{"role":"system","content":"Hi","role":"user"}]}', 'messages[0].role'],
    ['a key twice in a tool schema', '{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","type":"string"}}}]}', 'tools[0].function.parameters.type'],
  ] as const) {
    test(`${name} is refused naming ${param}`, async () => {
      const { status, json } = await gw.postChat(body);
      assert.equal(status, 400, JSON.stringify(json));
      assert.equal(json.error.code, 'invalid_json');
      assert.equal(json.error.param, param);
    });
  }

  test('a body without duplicates still goes to an OpenAI-compatible provider byte for byte', async () => {
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello "quoted" {braces}' }], temperature: 0.5 });
    const res = await gw.raw('/v1/chat/completions', { method: 'POST', headers: authHeaders(gw), body });
    assert.equal(res.status, 200);
    await res.json();
    const got = gw.sims['openai-primary']!.requests.at(-1)!;
    assert.equal(got.headers['content-length'], String(Buffer.byteLength(body)));
    assert.deepEqual(got.body, JSON.parse(body));
  });
});
