import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { chatRequestSchema } from '../../../src/openai/chat-request.ts';
import { responseCacheSettingsSchema } from '../../../src/policy/response-cache/cache-config.ts';
import { ResponseCache, type CacheRequest } from '../../../src/policy/response-cache/response-cache.ts';
import { cacheStoreOf } from '../../../src/policy/response-cache/store.ts';
import { EmbeddedStateStore } from '../../../src/state/embedded/store.ts';
import { TEXT } from './completions.ts';

/** The cache over the real embedded state layer (lru-cache in bytes), as the gateway will run it. */
describe('response cache over the embedded state store', () => {
  const state = new EmbeddedStateStore({ sqlitePath: ':memory:', cacheMaxBytes: 1 << 20 });
  after(() => state.close());
  const cache = new ResponseCache(cacheStoreOf(state), responseCacheSettingsSchema.parse({ ttlSeconds: 10 }));
  const req = (team: string): CacheRequest => ({
    team,
    publicModel: 'gpt-4o-mini',
    mode: 'auto',
    request: chatRequestSchema.parse({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], temperature: 0, max_tokens: 5 }),
    cacheControl: undefined,
    label: { id: 'chatcmpl-x', created: 1, publicModel: 'gpt-4o-mini', stream: false, includeUsage: false },
  });

  it('stores, and hits for the same team only', async () => {
    const miss = await cache.lookup(req('alpha'));
    assert.equal(miss.status, 'miss');
    assert.equal((await cache.save(miss.storeKey!, TEXT)).stored, true);
    assert.equal((await cache.lookup(req('alpha'))).status, 'hit');
    assert.equal((await cache.lookup(req('beta'))).status, 'miss');
    assert.equal((await cache.lookup(req('a}b{c'))).status, 'miss');
  });
});
