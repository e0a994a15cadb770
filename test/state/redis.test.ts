import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { applyStateSettings, createStateStore } from '../../src/state/index.ts';
import * as K from '../../src/state/redis/keys.ts';
import { RedisStateStore } from '../../src/state/redis/store.ts';
import { StateUnavailableError, type StateStore } from '../../src/state/store.ts';
import { startRedis, type TestRedis } from '../support/redis-server.ts';
import { stateContract } from './contract.ts';

const redis = await startRedis();
after(() => redis.stop());

async function connect(url: string, commandTimeoutMs = 1000, keyPrefix = `test-${randomUUID().slice(0, 8)}:`): Promise<RedisStateStore> {
  const s = new RedisStateStore({ url, commandTimeoutMs, keyPrefix });
  assert.equal(await s.waitReady(5000), true, 'redis-server did not accept the connection');
  return s;
}

// One key prefix shared by the contract's clients, so they see the same state.
const prefix = `contract-${randomUUID().slice(0, 8)}:`;
const client = (): Promise<RedisStateStore> => connect(redis.url, 1000, prefix);

stateContract('redis', {
  open: client,
  // Two ioredis clients, as two gateway replicas would have.
  replicas: async () => [await client(), await client()],
  reopen: async (store) => {
    await store.close();
    return client();
  },
});

describe('redis backend only', () => {
  let own: TestRedis;
  before(async () => {
    own = await startRedis({ persist: true });
  });
  after(() => own.stop());

  const charge = { counter: 'key:f/rpm', amount: 1, limit: 1000, windowMs: 60_000 };

  it('a killed redis-server fails each call with StateUnavailableError at once, and the client recovers', async () => {
    const store = await connect(own.url, 300);
    assert.ok((await store.reserve(`r-${randomUUID()}`, 't', [charge])).granted);
    await own.kill();
    const started = Date.now();
    await assert.rejects(store.reserve(`r-${randomUUID()}`, 't', [charge]), (err: unknown) => {
      assert.ok(err instanceof StateUnavailableError);
      assert.equal(err.backend, 'redis');
      assert.equal(err.operation, 'reserve');
      assert.doesNotMatch(err.message, new RegExp(String(own.port)), 'no address in the message');
      return true;
    });
    await assert.rejects(store.spent('t', 'team:t', '2026-11'), StateUnavailableError);
    // A hang guard, not a speed claim: far beyond the 300 ms command timeout.
    assert.ok(Date.now() - started < 5000, 'the calls did not hang');
    // The socket's close may be seen just after the failed calls: wait for it (a hang guard again).
    for (let i = 0; i < 50 && store.isReady(); i++) await sleep(100);
    assert.equal(store.isReady(), false);
    await own.restart();
    let recovered = false;
    for (let i = 0; i < 100 && !recovered; i++) {
      try {
        recovered = (await store.reserve(`r-${randomUUID()}`, 't', [charge])).granted;
      } catch (err) {
        assert.ok(err instanceof StateUnavailableError, String(err));
        await sleep(100);
      }
    }
    assert.equal(recovered, true, 'the same client works again once Redis is back');
    assert.equal(store.isReady(), true);
    await store.close();
  });

  it('a wrong password: the store says why it is not connected (WRONGPASS), never the password', async () => {
    const locked = await startRedis();
    try {
      const admin = new Redis(locked.url);
      await admin.config('SET', 'requirepass', 'right-pass-4711');
      admin.disconnect();
      const url = new URL(locked.url);
      url.password = 'wrong-pass-0815';
      const s = new RedisStateStore({ url: url.toString(), commandTimeoutMs: 500, connectTimeoutMs: 500 });
      try {
        assert.equal(await s.waitReady(1500), false);
        const why = s.notReadyReason();
        assert.match(why ?? '', /WRONGPASS|invalid (username-)?password/i);
        await assert.rejects(s.spent('t', 'team:t', '2026-11'), (err: unknown) => {
          assert.ok(err instanceof StateUnavailableError);
          assert.match(err.message, /not connected \(.*(WRONGPASS|invalid)/i, 'a call names the reason, not only "Connection is closed"');
          return true;
        });
        for (const text of [why ?? '', String(s.notReadyReason())]) assert.ok(!text.includes('wrong-pass-0815') && !text.includes('right-pass-4711'));
      } finally {
        await s.close();
      }
    } finally {
      await locked.stop();
    }
  });

  it('a stalled redis-server cannot hold a caller beyond the command timeout', async () => {
    const store = await connect(own.url, 200);
    own.pause();
    try {
      const started = Date.now();
      await assert.rejects(store.reserveSpend(`r-${randomUUID()}`, 't', [{ subject: 'team:t', period: 'p', limit: 10 }], 1, 1000), StateUnavailableError);
      await assert.rejects(store.cacheGet('k'), StateUnavailableError);
      assert.ok(Date.now() - started < 5000, 'the calls did not hang');
    } finally {
      own.resume();
    }
    // Answers again after the stall, on the same connection.
    let ok = false;
    for (let i = 0; i < 50 && !ok; i++) {
      ok = await store.getRecord('ns', 'x').then(() => true, () => false);
      if (!ok) await sleep(100);
    }
    assert.equal(ok, true);
    await store.close();
  });

  it('a hot-reloaded command timeout applies to the live client', async () => {
    // Started with a timeout far beyond the test's own (a stalled call would hang the test),
    // then lowered the way a config reload does.
    const store = await connect(own.url, 600_000);
    const settings = (commandTimeoutMs: number) => ({ redis: { commandTimeoutMs, connectTimeoutMs: 2000, keyPrefix: 'llmx:' } });
    assert.deepEqual(applyStateSettings(store, settings(600_000), settings(200)), { applied: ['server.state.redis.commandTimeoutMs'], needRestart: [] });
    own.pause();
    try {
      await assert.rejects(store.getRecord('ns', 'x'), StateUnavailableError);
    } finally {
      own.resume();
    }
    await store.close();
  });

  it('settled spend survives a Redis crash and restart (append-only file)', async () => {
    const keyPrefix = `durable-${randomUUID().slice(0, 8)}:`;
    const store = await connect(own.url, 1000, keyPrefix);
    const team = `t-${randomUUID().slice(0, 8)}`;
    const r = await store.reserveSpend(`r-${randomUUID()}`, team, [{ subject: `team:${team}`, period: '2026-11', limit: 10_000 }], 500, 60_000);
    assert.ok(r.granted);
    assert.equal(await store.settleSpend(r.reservation, 480), true);
    await store.close();
    await own.kill();
    await own.restart();
    const reopened = await connect(own.url, 1000, keyPrefix);
    assert.equal(await reopened.spent(team, `team:${team}`, '2026-11'), 480);
    assert.equal(await reopened.settleSpend(r.reservation, 480), false, 'the settled marker survived too');
    await reopened.close();
  });

  it('every key one script touches has the team hash tag (Redis Cluster: one slot)', () => {
    const tag = (key: string): string => {
      const open = key.indexOf('{');
      const close = key.indexOf('}', open + 1);
      return open >= 0 && close > open + 1 ? key.slice(open + 1, close) : key;
    };
    const team = 'acme';
    const keys = [
      K.windowReservationKey(team, 'req-1'),
      K.windowKey(team, 'key:k1/rpm', 60_000),
      K.windowKey(team, `team:${team}/tpm`, 60_000),
      K.windowKey(team, `feature:${team}/support-bot/tpd`, 86_400_000),
      K.spentKey(team, `team:${team}`, '2026-11'),
      ...K.heldKeys(team, 'key:k1', '2026-11'),
      K.settledKey(team, 'req-1'),
    ];
    assert.deepEqual(new Set(keys.map(tag)), new Set(['t:acme']));
    assert.equal(tag(K.recordKey('gateway-key', 'k1')), tag(K.recordIndexKey('gateway-key')));
  });

  it('createStateStore picks Redis when REDIS_URL is set', async () => {
    const store: StateStore = await createStateStore({}, { REDIS_URL: redis.url });
    assert.equal(store.backend, 'redis');
    assert.equal(store.isReady(), true);
    await store.close();
  });
});
