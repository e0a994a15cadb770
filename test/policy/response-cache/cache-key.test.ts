import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chatRequestSchema, type ChatRequest } from '../../../src/openai/chat-request.ts';
import { cacheKey, FIELDS_NOT_IN_KEY, type CacheKeyInput } from '../../../src/policy/response-cache/cache-key.ts';

/** A request as the gateway holds it: parsed from bytes, validated. */
const parse = (json: string): ChatRequest => chatRequestSchema.parse(JSON.parse(json));

const BASE = {
  model: 'gpt-4o-mini',
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Hello' },
  ],
  temperature: 0,
  max_tokens: 50,
};
const key = (request: ChatRequest, over: Partial<CacheKeyInput> = {}): string => cacheKey({ team: 'alpha', publicModel: 'gpt-4o-mini', request, ...over });
const base = key(parse(JSON.stringify(BASE)));

describe('cache key: stable', () => {
  it('is cache:{t:<team>}:<sha256 hex>', () => {
    assert.match(base, /^cache:\{t:alpha\}:[0-9a-f]{64}$/);
  });

  it('does not depend on member order, at any depth', () => {
    const reordered = '{"max_tokens":50,"temperature":0,"messages":[{"content":"Be brief.","role":"system"},{"content":"Hello","role":"user"}],"model":"gpt-4o-mini"}';
    assert.equal(key(parse(reordered)), base);
  });

  it('does not depend on how a number is written (0 vs 0.0 vs 0e0, 50 vs 50.0 vs 5e1)', () => {
    const spelled = '{"model":"gpt-4o-mini","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hello"}],"temperature":0.0,"max_tokens":5e1}';
    assert.equal(key(parse(spelled)), base);
    assert.equal(key(parse(spelled.replace('0.0', '0e0').replace('5e1', '50.0'))), base);
  });

  it('an alias and its model give one key: the resolved public model counts, not the body`s `model`', () => {
    assert.equal(key(parse(JSON.stringify({ ...BASE, model: 'fast' }))), base);
  });

  it('ignores fields that cannot change the answer', () => {
    const extras = { stream: true, stream_options: { include_usage: true }, user: 'u-1', safety_identifier: 's', metadata: { a: 'b' }, store: false, prompt_cache_key: 'p', prompt_cache_retention: '24h' };
    assert.deepEqual([...FIELDS_NOT_IN_KEY].sort(), ['model', ...Object.keys(extras)].sort());
    assert.equal(key(parse(JSON.stringify({ ...BASE, ...extras }))), base);
  });

  it('counts a top-level null on a known field as absent', () => {
    assert.equal(key(parse(JSON.stringify({ ...BASE, seed: null, stop: null, top_p: null }))), base);
  });
});

describe('cache key: sensitive to everything that can change the answer', () => {
  /** Each changes the output; each must give its own key. */
  const variants: Record<string, Record<string, unknown>> = {
    'messages (content)': { messages: [{ role: 'user', content: 'Hello!' }] },
    'messages (role)': { messages: [{ role: 'developer', content: 'Be brief.' }, { role: 'user', content: 'Hello' }] },
    'messages (order)': { messages: [{ role: 'user', content: 'Hello' }, { role: 'system', content: 'Be brief.' }] },
    'messages (name)': { messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello', name: 'ann' }] },
    temperature: { temperature: 0.2 },
    top_p: { top_p: 0.5 },
    max_tokens: { max_tokens: 51 },
    max_completion_tokens: { max_completion_tokens: 50 },
    'stop (string)': { stop: 'x' },
    'stop (array)': { stop: ['x'] },
    seed: { seed: 7 },
    n: { n: 2 },
    logprobs: { logprobs: true },
    top_logprobs: { logprobs: true, top_logprobs: 3 },
    presence_penalty: { presence_penalty: 0.5 },
    frequency_penalty: { frequency_penalty: 0.5 },
    logit_bias: { logit_bias: { '50256': -100 } },
    reasoning_effort: { reasoning_effort: 'low' },
    verbosity: { verbosity: 'low' },
    tools: { tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }] },
    tool_choice: { tool_choice: 'none' },
    parallel_tool_calls: { parallel_tool_calls: false },
    'response_format json_object': { response_format: { type: 'json_object' } },
    'response_format json_schema': { response_format: { type: 'json_schema', json_schema: { name: 's', schema: { type: 'object' } } } },
    modalities: { modalities: ['text'] },
    prediction: { prediction: { type: 'content', content: 'Hi' } },
    service_tier: { service_tier: 'flex' },
    'an unknown field': { top_k: 1 },
    'an unknown field set to null': { provider_extension: null },
  };
  const keys = new Map<string, string>([['base', base]]);
  for (const [name, change] of Object.entries(variants)) {
    it(name, () => {
      const k = key(parse(JSON.stringify({ ...BASE, ...change })));
      assert.notEqual(k, base);
      for (const [other, otherKey] of keys) assert.notEqual(k, otherKey, `${name} collides with ${other}`);
      keys.set(name, k);
    });
  }

  it('the team (and the team is in the hash, not only the prefix)', () => {
    const beta = key(parse(JSON.stringify(BASE)), { team: 'beta' });
    assert.notEqual(beta, base);
    assert.notEqual(beta.split(':').at(-1), base.split(':').at(-1));
  });

  it('the public model', () => {
    assert.notEqual(key(parse(JSON.stringify(BASE)), { publicModel: 'gpt-4o' }), base);
  });

  it('forwarded provider headers (names case-insensitive)', () => {
    const request = parse(JSON.stringify(BASE));
    const beta = key(request, { forwardedHeaders: { 'anthropic-beta': 'x' } });
    assert.notEqual(beta, base);
    assert.equal(key(request, { forwardedHeaders: { 'Anthropic-Beta': 'x' } }), beta);
  });

  it('a team name cannot break out of the hash tag', () => {
    const k = key(parse(JSON.stringify(BASE)), { team: 'a}b:{c' });
    assert.match(k, /^cache:\{t:a%7Db%3A%7Bc\}:[0-9a-f]{64}$/);
  });
});
