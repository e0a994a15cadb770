import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import { AuthError } from '../../src/errors/gateway-error.ts';
import { StateKeyDirectory, STATE_KEY_CACHE_MS, authenticateCaller } from '../../src/policy/state-keys.ts';
import { RedisStateStore } from '../../src/state/redis/store.ts';
import { startRedis } from '../support/redis-server.ts';
import { startAdminFixture } from './fixture.ts';

const redis = await startRedis();
after(() => redis.stop());

async function replicaStore(prefix: string): Promise<RedisStateStore> {
  const s = new RedisStateStore({ url: redis.url, keyPrefix: prefix, commandTimeoutMs: 1000 });
  assert.equal(await s.waitReady(5000), true);
  return s;
}

test('two replicas on one Redis: a key created on one authenticates on the other; a revocation reaches it within the cache bound', async () => {
  const prefix = `admin-${randomUUID().slice(0, 8)}:`;
  const storeA = await replicaStore(prefix);
  const storeB = await replicaStore(prefix);
  let now = 5_000_000;
  const a = await startAdminFixture({ store: storeA, now: () => now });
  const onB = new StateKeyDirectory(storeB, { now: () => now });
  const authB = (secret: string) => authenticateCaller(a.configs.current.keys, onB, `Bearer ${secret}`, Date.now());
  try {
    const { json } = await a.call('POST', '/admin/keys', { name: 'fleet-key', team: 'data', models: ['m1'] });
    assert.equal(json.source, 'admin');
    const first = authB(json.key);
    assert.ok(first instanceof Promise, 'the first lookup goes to Redis');
    assert.equal((await first).name, 'fleet-key');
    const listedOnB = await storeB.listRecords('gateway-key');
    assert.equal(listedOnB.length, 1);

    assert.equal((await a.call('DELETE', `/admin/keys/${json.id}`)).status, 200);
    // B answers from its cache until the bound, then asks Redis again and refuses.
    now += STATE_KEY_CACHE_MS - 1;
    assert.equal((authB(json.key) as { name: string }).name, 'fleet-key', 'still cached just inside the bound');
    now += 2;
    await assert.rejects(async () => authB(json.key), (err: unknown) => err instanceof AuthError && err.code === 'invalid_api_key');
  } finally {
    await a.close();
    await storeA.close();
    await storeB.close();
  }
});

test('Redis killed: a lookup is 503 state_unavailable (fail closed, never 401), and the key works again when Redis is back', async () => {
  const own = await startRedis({ persist: true });
  const store = new RedisStateStore({ url: own.url, keyPrefix: 'down:', commandTimeoutMs: 300 });
  assert.equal(await store.waitReady(5000), true);
  let now = 0;
  const api = await startAdminFixture({ store, now: () => now });
  const auth = (secret: string) => authenticateCaller(api.configs.current.keys, api.directory, `Bearer ${secret}`, Date.now());
  try {
    const { json } = await api.call('POST', '/admin/keys', { name: 'survivor', team: 'data' });
    await own.kill();
    now += STATE_KEY_CACHE_MS + 1;
    await assert.rejects(async () => auth(json.key), (err: unknown) => (err as { status?: number }).status === 503 && (err as { code?: string }).code === 'state_unavailable');
    await own.restart();
    // ioredis reconnects by itself; the key (append-only file) is there again.
    let verdict: string | undefined;
    for (let i = 0; i < 100 && verdict !== 'ok'; i++) {
      now += STATE_KEY_CACHE_MS + 1;
      try {
        await auth(json.key);
        verdict = 'ok';
      } catch (err) {
        verdict = (err as { code?: string }).code ?? 'other';
      }
      if (verdict !== 'ok') await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(verdict, 'ok');
  } finally {
    await api.close();
    await store.close();
    await own.stop();
  }
});
