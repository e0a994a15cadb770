import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GatewayMetrics } from '../../../src/metrics/metrics.ts';
import { chatRequestSchema } from '../../../src/openai/chat-request.ts';
import { completionToChunks } from '../../../src/openai/completion-to-chunks.ts';
import { responseCacheSettingsSchema } from '../../../src/policy/response-cache/cache-config.ts';
import { ExchangeCache } from '../../../src/policy/response-cache/exchange-io.ts';
import { ResponseCache, type CacheRequest } from '../../../src/policy/response-cache/response-cache.ts';
import { TEXT } from './completions.ts';
import { FakeCacheStore } from './fake-store.ts';

const req = (cacheControl?: string): CacheRequest => ({
  team: 'alpha',
  publicModel: 'gpt-4o-mini',
  mode: 'auto',
  request: chatRequestSchema.parse({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], temperature: 0, max_tokens: 20 }),
  cacheControl,
  label: { id: 'chatcmpl-new', created: 1_800_000_000, publicModel: 'gpt-4o-mini', stream: false, includeUsage: false },
});

const labels = { model: 'gpt-4o-mini', team: 'alpha' };

async function setup(cacheControl?: string) {
  const store = new FakeCacheStore();
  const metrics = new GatewayMetrics();
  const cache = new ResponseCache(store, responseCacheSettingsSchema.parse({}));
  const ec = new ExchangeCache(cache, await cache.lookup(req(cacheControl)), labels, metrics);
  // Saves run in the background: let them land.
  const settled = (): Promise<void> => new Promise((r) => setImmediate(r));
  const count = async (name: 'cacheStores' | 'cacheStoreSkipped', reason?: string): Promise<number> => {
    const m = await metrics[name].get();
    return m.values.filter((v) => reason === undefined || (v.labels as Record<string, unknown>)['reason'] === reason).reduce((n, v) => n + v.value, 0);
  };
  return { store, cache, ec, settled, count };
}

const sse = (includeUsage: boolean): string => completionToChunks(TEXT, { id: 'chatcmpl-x', created: TEXT.created, publicModel: 'gpt-4o-mini', includeUsage });

describe('ExchangeCache (the request path side of the response cache)', () => {
  it('stores a JSON answer on a miss, which the next lookup hits', async () => {
    const { store, cache, ec, settled, count } = await setup();
    assert.equal(ec.status, 'miss');
    ec.saveBody(JSON.stringify(TEXT), false);
    await settled();
    assert.equal(store.entries.size, 1);
    assert.equal(await count('cacheStores'), 1);
    const hit = await cache.lookup(req());
    assert.equal(hit.status, 'hit');
    const again = new ExchangeCache(cache, hit, labels, new GatewayMetrics());
    assert.deepEqual(again.hitUsage, { promptTokens: 12, completionTokens: 5, cachedTokens: 4, reasoningTokens: 0 });
  });

  it('stores a stream copied piece by piece, with the settled usage when the stream carried none', async () => {
    const { store, cache, ec, settled } = await setup();
    ec.startStream();
    const text = sse(false);
    for (let i = 0; i < text.length; i += 7) ec.push(text.slice(i, i + 7));
    ec.endStream({ promptTokens: 3, completionTokens: 2 });
    await settled();
    assert.equal(store.entries.size, 1);
    const hit = await cache.lookup(req());
    assert.ok(hit.status === 'hit');
    assert.equal(hit.completion.choices[0]!.message.content, TEXT.choices[0]!.message.content);
    assert.equal(hit.completion.usage?.prompt_tokens, 3);
  });

  it('does not store a stream without its [DONE], nor one carrying an error event', async () => {
    const cut = await setup();
    cut.ec.startStream();
    cut.ec.push(sse(true).replace('data: [DONE]\n\n', ''));
    cut.ec.endStream(undefined);
    await cut.settled();
    assert.equal(cut.store.entries.size, 0);
    assert.equal(await cut.count('cacheStoreSkipped', 'truncated'), 1);

    const errored = await setup();
    errored.ec.startStream();
    errored.ec.push(sse(true).split('\n\n').slice(0, 2).join('\n\n') + '\n\ndata: {"error":{"message":"x","type":"api_error","param":null,"code":null}}\n\ndata: [DONE]\n\n');
    errored.ec.endStream(undefined);
    await errored.settled();
    assert.equal(errored.store.entries.size, 0);
    assert.equal(await errored.count('cacheStoreSkipped', 'upstream_error'), 1);
  });

  it('no-store: nothing is copied or written; no-cache: written (a refresh)', async () => {
    const noStore = await setup('no-store');
    assert.equal(noStore.ec.status, 'bypass');
    noStore.ec.startStream();
    noStore.ec.push(sse(true));
    noStore.ec.endStream(undefined);
    noStore.ec.saveBody(JSON.stringify(TEXT), false);
    await noStore.settled();
    assert.equal(noStore.store.entries.size, 0);

    const noCache = await setup('no-cache');
    assert.equal(noCache.ec.status, 'bypass');
    noCache.ec.saveBody(JSON.stringify(TEXT), false);
    await noCache.settled();
    assert.equal(noCache.store.entries.size, 1);
  });

  it('a content-filtered answer is not stored', async () => {
    const { store, ec, settled, count } = await setup();
    ec.saveBody(JSON.stringify({ ...TEXT, choices: [{ ...TEXT.choices[0]!, finish_reason: 'content_filter' }] }), false);
    await settled();
    assert.equal(store.entries.size, 0);
    assert.equal(await count('cacheStoreSkipped', 'content_filter'), 1);
  });
});
