import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chatRequestSchema } from '../../../src/openai/chat-request.ts';
import type { ChatCompletion } from '../../../src/openai/chat-response.ts';
import { responseCacheSettingsSchema } from '../../../src/policy/response-cache/cache-config.ts';
import { replayReply } from '../../../src/policy/response-cache/cache-replay.ts';
import { cacheSaving } from '../../../src/policy/response-cache/cache-saving.ts';
import { ResponseCache, type CacheRequest } from '../../../src/policy/response-cache/response-cache.ts';
import { assertValidStream } from '../../openai/schema-check.ts';
import { FakeCacheStore } from './fake-store.ts';
import { TEXT } from './completions.ts';

const settings = responseCacheSettingsSchema.parse({ ttlSeconds: 60 });
const request = (over: Record<string, unknown> = {}) => chatRequestSchema.parse({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], temperature: 0, max_tokens: 20, ...over });
const req = (over: Partial<CacheRequest> = {}): CacheRequest => ({
  team: 'alpha',
  publicModel: 'gpt-4o-mini',
  mode: 'auto',
  request: request(),
  cacheControl: undefined,
  label: { id: 'chatcmpl-new', created: 1_800_000_000, publicModel: 'gpt-4o-mini', stream: false, includeUsage: false },
  ...over,
});
const setup = () => {
  const store = new FakeCacheStore();
  const faults: string[] = [];
  return { store, faults, cache: new ResponseCache(store, settings, (op) => faults.push(op)) };
};
const body = (b: string | Uint8Array): string => (typeof b === 'string' ? b : Buffer.from(b).toString('utf8'));

describe('response cache', () => {
  it('miss, store, then hit as JSON and as SSE with usage', async () => {
    const { store, cache } = setup();
    const first = await cache.lookup(req());
    assert.equal(first.status, 'miss');
    assert.deepEqual(first.headers, { 'x-gateway-cache': 'miss' });
    assert.deepEqual(await cache.save(first.storeKey!, TEXT, 0), { stored: true, bytes: store.entries.get(first.storeKey!)!.value.byteLength });
    assert.deepEqual(store.ttls, [60_000]);

    const json = await cache.lookup(req(), 3_000);
    assert.equal(json.status, 'hit');
    if (json.status !== 'hit') return;
    assert.equal(json.storeKey, undefined);
    assert.deepEqual(json.headers, { 'x-gateway-cache': 'hit' });
    assert.equal(json.reply.headers['age'], '3');
    assert.deepEqual(JSON.parse(body(json.reply.body)), { ...TEXT, id: 'chatcmpl-new', created: 1_800_000_000 });

    // The same request streamed: `stream`/`stream_options` are not in the key.
    const streamed = await cache.lookup(req({ request: request({ stream: true, stream_options: { include_usage: true } }), label: { ...req().label, stream: true, includeUsage: true } }));
    assert.equal(streamed.status, 'hit');
    if (streamed.status !== 'hit') return;
    assertValidStream(body(streamed.reply.body), true);
    assert.match(body(streamed.reply.body), /"usage":\{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17/);
  });

  it('never answers one team from another team`s entry', async () => {
    const { cache } = setup();
    const alpha = await cache.lookup(req());
    await cache.save(alpha.storeKey!, TEXT);
    assert.equal((await cache.lookup(req({ team: 'beta' }))).status, 'miss');
    assert.equal((await cache.lookup(req({ team: 'alpha' }))).status, 'hit');
  });

  it('an alias and the model it resolves to share entries', async () => {
    const { cache } = setup();
    const viaModel = await cache.lookup(req());
    await cache.save(viaModel.storeKey!, TEXT);
    const viaAlias = await cache.lookup(req({ request: request({ model: 'fast' }), label: { ...req().label, publicModel: 'fast' } }));
    assert.equal(viaAlias.status, 'hit');
  });

  it('no-cache: bypasses the read, and the fresh answer replaces the entry', async () => {
    const { cache } = setup();
    await cache.save((await cache.lookup(req())).storeKey!, TEXT);
    const refresh = await cache.lookup(req({ cacheControl: 'no-cache' }));
    assert.equal(refresh.status, 'bypass');
    assert.deepEqual(refresh.headers, { 'x-gateway-cache': 'bypass' });
    assert.ok(refresh.status === 'bypass' && refresh.reason === 'no_cache' && refresh.storeKey);
    const fresh: ChatCompletion = { ...TEXT, choices: [{ ...TEXT.choices[0]!, message: { role: 'assistant', content: 'Fresh', refusal: null } }] };
    await cache.save(refresh.storeKey!, fresh);
    const hit = await cache.lookup(req());
    assert.ok(hit.status === 'hit');
    assert.equal(hit.completion.choices[0]!.message.content, 'Fresh');
  });

  it('no-store: neither read nor a key to write', async () => {
    const { store, cache } = setup();
    await cache.save((await cache.lookup(req())).storeKey!, TEXT);
    const out = await cache.lookup(req({ cacheControl: 'no-store' }));
    assert.deepEqual(out, { status: 'bypass', headers: { 'x-gateway-cache': 'bypass' }, reason: 'no_store', storeKey: undefined });
    assert.equal(store.entries.size, 1);
  });

  it('ineligible and disabled requests are bypassed without touching the store', async () => {
    const { store, cache } = setup();
    store.failGet = true; // any read would show as a fault
    assert.deepEqual(await cache.lookup(req({ request: request({ temperature: 1 }) })), { status: 'bypass', headers: { 'x-gateway-cache': 'bypass' }, reason: 'not_deterministic', storeKey: undefined });
    assert.equal((await cache.lookup(req({ mode: 'off' }))).status, 'bypass');
    const off = new ResponseCache(store, { ...settings, enabled: false });
    assert.deepEqual(await off.lookup(req()), { status: 'bypass', headers: { 'x-gateway-cache': 'bypass' }, reason: 'disabled', storeKey: undefined });
  });

  it('fails open: a read fault is a bypass that may still write, a write fault an outcome', async () => {
    const { store, faults, cache } = setup();
    store.failGet = true;
    const out = await cache.lookup(req());
    assert.ok(out.status === 'bypass' && out.reason === 'store_error' && out.storeKey);
    store.failSet = true;
    assert.deepEqual(await cache.save(out.storeKey!, TEXT), { stored: false, reason: 'store_error' });
    assert.deepEqual(faults, ['get', 'set']);
  });

  it('an expired entry is a miss', async () => {
    const { store, cache } = setup();
    await cache.save((await cache.lookup(req())).storeKey!, TEXT);
    store.now = 60_000;
    assert.equal((await cache.lookup(req())).status, 'miss');
  });

  it('never stores a content-filtered answer or one over the size cap', async () => {
    const { store, cache } = setup();
    const key = (await cache.lookup(req())).storeKey!;
    const filtered: ChatCompletion = { ...TEXT, choices: [{ ...TEXT.choices[0]!, finish_reason: 'content_filter' }] };
    assert.deepEqual(await cache.save(key, filtered), { stored: false, reason: 'content_filter' });
    const small = new ResponseCache(store, { ...settings, maxEntryBytes: 1024 });
    const big: ChatCompletion = { ...TEXT, choices: [{ ...TEXT.choices[0]!, message: { role: 'assistant', content: 'x'.repeat(2000), refusal: null } }] };
    assert.deepEqual(await small.save(key, big), { stored: false, reason: 'too_large' });
    assert.equal(store.entries.size, 0);
  });

  it('a stream stored through the accumulator replays as the same answer', async () => {
    const { cache } = setup();
    const miss = await cache.lookup(req());
    // What the caller of a streaming miss was sent, from an earlier hit's replay: a real SSE body.
    const sse = body(replayReply({ completion: TEXT, storedAt: 0 }, { ...req().label, stream: true, includeUsage: false }).body);
    const acc = cache.accumulator();
    for (let i = 0; i < sse.length; i += 17) acc.push(Buffer.from(sse.slice(i, i + 17)));
    const done = acc.finish(TEXT.usage);
    assert.ok('completion' in done);
    assert.equal((await cache.save(miss.storeKey!, done.completion)).stored, true);
    const hit = await cache.lookup(req());
    assert.ok(hit.status === 'hit');
    assert.deepEqual(hit.completion.choices, TEXT.choices);
    assert.deepEqual(hit.completion.usage, TEXT.usage);
  });

  it('counts what a hit saved: the stored usage, priced now', () => {
    const saving = cacheSaving(TEXT, (u) => (u.promptTokens * 0.15 + u.completionTokens * 0.6) / 1e6);
    assert.deepEqual(saving, { usage: { promptTokens: 12, completionTokens: 5, cachedTokens: 4, reasoningTokens: 0 }, costUsd: (12 * 0.15 + 5 * 0.6) / 1e6 });
    assert.equal(cacheSaving(TEXT, () => undefined)?.costUsd, undefined);
  });
});
