import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chatRequestSchema } from '../../../src/openai/chat-request.ts';
import { PolicyPipeline, type PolicyStep } from '../../../src/policy/pipeline.ts';
import { responseCacheSettingsSchema } from '../../../src/policy/response-cache/cache-config.ts';
import { responseCacheStep } from '../../../src/policy/response-cache/cache-step.ts';
import { ResponseCache, type CacheLookup, type CacheRequest } from '../../../src/policy/response-cache/response-cache.ts';
import { FakeCacheStore } from './fake-store.ts';
import { TEXT } from './completions.ts';

interface Req {
  team: string;
  lookup?: CacheLookup;
}

const view = (r: Req): CacheRequest => ({
  team: r.team,
  publicModel: 'gpt-4o-mini',
  mode: 'auto',
  request: chatRequestSchema.parse({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], temperature: 0, max_tokens: 5 }),
  cacheControl: undefined,
  label: { id: 'chatcmpl-x', created: 1, publicModel: 'gpt-4o-mini', stream: false, includeUsage: false },
});

describe('response cache as a pipeline step', () => {
  it('continues with x-gateway-cache on a miss, answers on a hit; the earlier steps are then released', async () => {
    const cache = new ResponseCache(new FakeCacheStore(), responseCacheSettingsSchema.parse({}));
    const reserved: string[] = [];
    // Stands in for the token window and budget steps, which reserve at admission.
    const tokens: PolicyStep<Req, unknown> = {
      id: 'tokens',
      admit: (r) => (reserved.push(r.team), { kind: 'continue' }),
      release: (r) => void reserved.splice(reserved.indexOf(r.team), 1),
    };
    const pipeline = new PolicyPipeline<Req, unknown>([tokens, responseCacheStep(cache, { view, remember: (r, l) => (r.lookup = l) })], () => undefined);

    const first: Req = { team: 'alpha' };
    const a1 = await pipeline.admit(first);
    assert.equal(a1.reply, undefined);
    assert.deepEqual(a1.headers, { 'x-gateway-cache': 'miss' });
    assert.equal(first.lookup?.status, 'miss');
    await cache.save(first.lookup.storeKey, TEXT);

    const second: Req = { team: 'alpha' };
    const a2 = await pipeline.admit(second);
    assert.equal(a2.reply?.status, 200);
    assert.equal(a2.reply?.headers['x-gateway-cache'], 'hit');
    assert.deepEqual(reserved, ['alpha', 'alpha']);
    // What the request path does with a reply: the hit costs nothing, so release what was reserved.
    await pipeline.release(second, a2);
    assert.deepEqual(reserved, ['alpha']);
  });
});
