import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { toOpenAIError } from '../../src/errors/to-openai.ts';
import { RateLimitExceededError, StateUnavailableRefusal } from '../../src/policy/rate-limit-errors.ts';
import { EmbeddedStateStore } from '../../src/state/embedded/store.ts';
import { RedisStateStore } from '../../src/state/redis/store.ts';
import { startRedis } from '../support/redis-server.ts';
import { admit, makeStep, policy, rateLimitCases, refused, req, settlement, uid } from './rate-limit-harness.ts';

const redis = await startRedis();
after(() => redis.stop());

async function connect(url: string, keyPrefix: string, commandTimeoutMs = 1000): Promise<RedisStateStore> {
  const s = new RedisStateStore({ url, commandTimeoutMs, keyPrefix });
  assert.equal(await s.waitReady(5000), true, 'redis-server did not accept the connection');
  return s;
}

rateLimitCases('redis', () => connect(redis.url, `rl-${uid()}:`));

describe('rate-limit step: redis only', () => {
  it('200 concurrent admits from two step instances on two Redis clients, limit 50: exactly 50 admitted', async () => {
    const prefix = `rl-${uid()}:`;
    const [a, b] = await Promise.all([connect(redis.url, prefix), connect(redis.url, prefix)]);
    const team = `t-${uid()}`;
    // Each replica compiles its own config, as two gateways would.
    const section = { keys: { burst: { requestsPerMinute: 50 } } };
    const steps = [makeStep(a, policy(section, ['burst'])), makeStep(b, policy(section, ['burst']))];
    const caller = { name: 'burst', team };
    const results = await Promise.allSettled(Array.from({ length: 200 }, (_, i) => Promise.resolve(steps[i % 2]!.admit(req(caller)))));
    const admitted = results.filter((r) => r.status === 'fulfilled').length;
    const limited = results.filter((r) => r.status === 'rejected' && r.reason instanceof RateLimitExceededError).length;
    assert.equal(admitted, 50);
    assert.equal(limited, 150, 'every other request is a 429, none a fault');
    await Promise.all([a.close(), b.close()]);
  });

  it('a reservation taken on one replica is settled by the other replica\'s counters (shared state)', async () => {
    const prefix = `rl-${uid()}:`;
    const [a, b] = await Promise.all([connect(redis.url, prefix), connect(redis.url, prefix)]);
    const team = `t-${uid()}`;
    const section = { teams: { [team]: { limits: { tokensPerMinute: 1000 } } } };
    const onA = makeStep(a, policy(section));
    const onB = makeStep(b, policy(section));
    const caller = { name: 'k', team };
    const r = req(caller, 600);
    await admit(onA, r);
    assert.equal((await admit(onB, req(caller, 300)))['x-ratelimit-remaining-tokens'], '100');
    await onA.settle!(r, settlement({ usage: { promptTokens: 100, completionTokens: 100 } }));
    assert.equal((await admit(onB, req(caller, 100)))['x-ratelimit-remaining-tokens'], String(1000 - 200 - 300 - 100));
    await Promise.all([a.close(), b.close()]);
  });
});

describe('rate-limit step: Redis killed and restarted', () => {
  it('fail-closed answers 503 while Redis is down, fail-open counts locally, both recover when it returns', async () => {
    const own = await startRedis();
    const prefix = `rl-${uid()}:`;
    const store = await connect(own.url, prefix, 300);
    const fallback = new EmbeddedStateStore({ sqlitePath: ':memory:' });
    const team = `t-${uid()}`;
    const logs: string[] = [];
    const log = { warn: (_o: object, msg: string) => logs.push(`warn ${msg}`), info: (_o: object, msg: string) => logs.push(`info ${msg}`) };
    const faults: string[] = [];
    const sink = { log, outageQuietMs: 0, onStateError: (e: { operation: string; mode: string }) => faults.push(`${e.operation} ${e.mode}`) };
    const limits = { teams: { [team]: { limits: { requestsPerMinute: 3 } } } };
    const closed = makeStep(store, policy({ onStateError: 'fail-closed', ...limits }), sink);
    const open = makeStep(store, policy({ onStateError: 'fail-open', ...limits }), { ...sink, fallback });
    const caller = { name: 'k', team };
    try {
      const before = req(caller);
      await admit(closed, before);

      await own.kill();
      await assert.rejects(Promise.resolve(closed.admit(req(caller))), (err: unknown) => {
        assert.ok(err instanceof StateUnavailableRefusal, String(err));
        const e = toOpenAIError(err);
        assert.equal(e.status, 503);
        assert.equal(e.headers['retry-after'], '1');
        assert.doesNotMatch(JSON.stringify(e.body), new RegExp(`${own.port}|127\\.0\\.0\\.1|redis`, 'i'));
        return true;
      });
      // Fail-open: the same limit, on this process's counters (they start empty).
      for (let i = 0; i < 3; i++) await admit(open, req(caller));
      await refused(open, req(caller));
      // The settle of a reservation Redis holds fails quietly (counted); Redis keeps the reservation.
      await closed.settle!(before, settlement());
      assert.ok(faults.includes('reserve fail-closed') && faults.includes('reserve fail-open') && faults.includes('settle fail-closed'), faults.join(', '));
      assert.equal(logs.filter((l) => l.startsWith('warn')).length, 2, `one warning per step's outage: ${logs.join(' | ')}`);

      await own.restart();
      // The same client reconnects by itself; no restart of anything else.
      let recovered = false;
      for (let i = 0; i < 100 && !recovered; i++) {
        try {
          // Redis was killed without saving: its counters start empty again.
          const h = await admit(closed, req(caller));
          recovered = h['x-ratelimit-remaining-requests'] === '2';
        } catch (err) {
          assert.ok(err instanceof StateUnavailableRefusal, String(err));
          await sleep(100);
        }
      }
      assert.equal(recovered, true, 'fail-closed admits again once Redis is back');
      assert.equal((await admit(open, req(caller)))['x-ratelimit-remaining-requests'], '1', 'fail-open uses the shared counters again');
      assert.equal(logs.filter((l) => l.startsWith('info')).length, 2, `one recovery line per step: ${logs.join(' | ')}`);
    } finally {
      await Promise.all([closed.close(), open.close()]);
      await store.close();
      await fallback.close();
      await own.stop();
    }
  });

  it('a stalled Redis (no answer) is a fault after the command timeout, not a hang', async () => {
    const own = await startRedis();
    const store = await connect(own.url, `rl-${uid()}:`, 200);
    const team = `t-${uid()}`;
    const step = makeStep(store, policy({ onStateError: 'fail-closed', teams: { [team]: { limits: { requestsPerMinute: 3 } } } }));
    try {
      own.pause();
      await assert.rejects(Promise.resolve(step.admit(req({ name: 'k', team }))), StateUnavailableRefusal);
    } finally {
      own.resume();
      await step.close();
      await store.close();
      await own.stop();
    }
  });
});
