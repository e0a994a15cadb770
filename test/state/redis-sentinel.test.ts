import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createStateStore, stateLogFields } from '../../src/state/index.ts';
import * as K from '../../src/state/redis/keys.ts';
import { RedisStateStore } from '../../src/state/redis/store.ts';
import { StateUnavailableError } from '../../src/state/store.ts';
import { redisCli, startRedisSentinel } from '../support/redis-server.ts';
import { stateContract } from './contract.ts';

/** The state contract against a primary + replica watched by a real Sentinel, and a failover. */
const sentinel = await startRedisSentinel();
after(() => sentinel.stop());

const prefix = `sentinel-${randomUUID().slice(0, 8)}:`;
async function client(keyPrefix = prefix, commandTimeoutMs = 1000): Promise<RedisStateStore> {
  const s = new RedisStateStore({ url: sentinel.url, commandTimeoutMs, keyPrefix });
  assert.equal(await s.waitReady(10_000), true, 'the Sentinel client did not become ready');
  return s;
}

stateContract('redis sentinel', {
  open: () => client(),
  replicas: async () => [await client(), await client()],
  reopen: async (store) => {
    await store.close();
    return client();
  },
});

describe('redis sentinel only', () => {
  it('createStateStore opens the Sentinel\'s primary from REDIS_URL and says so in the log fields', async () => {
    const store = await createStateStore({ redis: { keyPrefix: prefix } }, { REDIS_URL: sentinel.url });
    assert.equal(store.isReady(), true);
    assert.deepEqual(stateLogFields(store), { state: 'redis', redis_mode: 'sentinel' });
    // It writes to the primary the Sentinel names.
    const team = `t-${randomUUID().slice(0, 8)}`;
    await store.putRecord('ns', team, 'v');
    assert.equal(await redisCli(await sentinel.primaryPort(), 'GET', `${prefix}${K.recordKey('ns', team)}`), 'v');
    await store.close();
  });

  it('SENTINEL FAILOVER: the store follows the new primary without a restart, and settled spend is still there', async () => {
    const keyPrefix = `failover-${randomUUID().slice(0, 8)}:`;
    const store = await client(keyPrefix, 300);
    let stop = false;
    try {
      const team = `t-${randomUUID().slice(0, 8)}`;
      const budget = { subject: `team:${team}`, period: '2026-11', limit: 1_000_000 };
      const r = await store.reserveSpend(`r-${randomUUID()}`, team, [budget], 500, 60_000);
      assert.ok(r.granted);
      assert.equal(await store.settleSpend(r.reservation, 480), true);
      const before = await sentinel.primaryPort();
      // Replication is asynchronous: a write not yet on the replica is lost by any failover (README). Wait for it.
      assert.equal(await redisCli(before, 'WAIT', '1', '5000'), '1');

      // Traffic during the switch: every call either succeeds or fails with StateUnavailableError.
      let failures = 0;
      let successes = 0;
      const unexpected: string[] = [];
      const traffic = (async () => {
        while (!stop) {
          try {
            await store.reserve(`r-${randomUUID()}`, team, [{ counter: 'key:k/rpm', amount: 1, limit: 1_000_000, windowMs: 60_000 }]);
            successes++;
          } catch (err) {
            if (err instanceof StateUnavailableError) failures++;
            else unexpected.push(String(err));
          }
          await sleep(20);
        }
      })();
      const after = await sentinel.failover();
      assert.notEqual(after, before);
      // Recovered once a write through the store shows on the new primary: a read could still be
      // answered by the demoted primary, and a write it took just before Sentinel reconfigured it is
      // lost (asynchronous replication; README). A hang guard of 30 s, not a speed claim.
      let recovered = false;
      for (let i = 0; i < 300 && !recovered; i++) {
        const wrote = await store.putRecord('probe', team, String(i)).then(() => true, () => false);
        recovered = wrote && (await redisCli(after, 'GET', `${keyPrefix}${K.recordKey('probe', team)}`)) === String(i);
        if (!recovered) await sleep(100);
      }
      stop = true;
      await traffic;
      assert.deepEqual(unexpected, [], 'every failed call is a StateUnavailableError');
      assert.equal(recovered, true, `no answer from the new primary (${failures} failed calls, ${successes} succeeded)`);
      assert.equal(await store.spent(team, budget.subject, budget.period), 480, 'the spend settled before the failover');
      // New writes land on the new primary.
      const r2 = await store.reserveSpend(`r-${randomUUID()}`, team, [budget], 100, 60_000);
      assert.ok(r2.granted);
      assert.equal(await store.settleSpend(r2.reservation, 20), true);
      assert.equal(await redisCli(after, 'GET', `${keyPrefix}${K.spentKey(team, budget.subject, budget.period)}`), '500');
      assert.equal(await store.spent(team, budget.subject, budget.period), 500);
    } finally {
      stop = true;
      await store.close();
    }
  });
});
