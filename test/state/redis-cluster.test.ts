import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { createStateStore, stateLogFields } from '../../src/state/index.ts';
import * as K from '../../src/state/redis/keys.ts';
import { RedisStateStore } from '../../src/state/redis/store.ts';
import { redisCli, startRedisCluster } from '../support/redis-server.ts';
import { stateContract } from './contract.ts';

/** The state contract against a real 3-master Redis Cluster (redis+cluster:// seed nodes). */
const cluster = await startRedisCluster(3);
after(() => cluster.stop());

const prefix = `cluster-${randomUUID().slice(0, 8)}:`;
async function client(keyPrefix = prefix): Promise<RedisStateStore> {
  const s = new RedisStateStore({ url: cluster.url, commandTimeoutMs: 1000, keyPrefix });
  assert.equal(await s.waitReady(10_000), true, 'the cluster client did not become ready');
  return s;
}

stateContract('redis cluster', {
  open: () => client(),
  replicas: async () => [await client(), await client()],
  reopen: async (store) => {
    await store.close();
    return client();
  },
});

/** The keys under `match` on the master at `port` (SCAN, so no KEYS on a shared server). */
async function keysOn(port: number, match: string): Promise<string[]> {
  const out = await redisCli(port, '--scan', '--pattern', match);
  return out === '' ? [] : out.split('\n');
}

describe('redis cluster only', () => {
  it('the contract\'s teams spread over more than one shard, and each team\'s keys sit on one', async () => {
    const perNode = await Promise.all(cluster.ports.map((p) => keysOn(p, `${prefix}*`)));
    const holding = perNode.filter((keys) => keys.length > 0).length;
    assert.ok(holding >= 2, `keys on ${holding} of ${cluster.ports.length} masters: ${perNode.map((k) => k.length).join(', ')}`);
    // Every key of a team, on whichever node, has that team's one slot.
    const byTeam = new Map<string, Set<string>>();
    for (const keys of perNode) {
      for (const key of keys) {
        const tag = /\{(t:[^}]+)\}/.exec(key)?.[1];
        if (!tag) continue;
        const slot = await redisCli(cluster.ports[0]!, 'CLUSTER', 'KEYSLOT', key);
        byTeam.set(tag, (byTeam.get(tag) ?? new Set()).add(slot));
      }
    }
    assert.ok(byTeam.size >= 2, `teams seen: ${byTeam.size}`);
    for (const [team, slots] of byTeam) assert.equal(slots.size, 1, `team ${team} spans slots ${[...slots].join(', ')}`);
  });

  it('a request\'s window, reservation and budget keys share one slot (one script, one node)', async () => {
    const team = `acme-${randomUUID().slice(0, 4)}`;
    const keys = [
      K.windowReservationKey(team, 'req-1'),
      K.windowKey(team, 'key:k1/rpm', 60_000),
      K.spentKey(team, `team:${team}`, '2026-11'),
      ...K.heldKeys(team, `team:${team}`, '2026-11'),
      K.settledKey(team, 'req-1'),
    ].map((k) => prefix + k);
    const slots = new Set(await Promise.all(keys.map((k) => redisCli(cluster.ports[0]!, 'CLUSTER', 'KEYSLOT', k))));
    assert.equal(slots.size, 1);
  });

  it('a budget written through one seed list is read through another (any node routes by slot)', async () => {
    const keyPrefix = `seed-${randomUUID().slice(0, 8)}:`;
    const a = await client(keyPrefix);
    const teams = Array.from({ length: 12 }, (_, i) => `t${i}-${randomUUID().slice(0, 6)}`);
    for (const team of teams) {
      const r = await a.reserveSpend(`r-${randomUUID()}`, team, [{ subject: `team:${team}`, period: '2026-11', limit: 10_000 }], 500, 60_000);
      assert.ok(r.granted);
      assert.equal(await a.settleSpend(r.reservation, 321), true);
    }
    await a.close();
    const b = new RedisStateStore({ url: `redis+cluster://127.0.0.1:${cluster.ports[2]}`, commandTimeoutMs: 1000, keyPrefix });
    assert.equal(await b.waitReady(10_000), true);
    for (const team of teams) assert.equal(await b.spent(team, `team:${team}`, '2026-11'), 321);
    await b.close();
  });

  it('createStateStore opens a Cluster from REDIS_URL and says so in the log fields', async () => {
    const store = await createStateStore({ redis: { keyPrefix: prefix } }, { REDIS_URL: cluster.url });
    assert.equal(store.backend, 'redis');
    assert.equal(store.isReady(), true);
    assert.deepEqual(stateLogFields(store), { state: 'redis', redis_mode: 'cluster' });
    await store.close();
  });

  it('a key prefix with a brace is refused before connecting', () => {
    assert.throws(() => new RedisStateStore({ url: cluster.url, keyPrefix: 'llmx{x}:' }), /keyPrefix "llmx\{x\}:" must not contain "\{" or "\}"/);
  });
});
