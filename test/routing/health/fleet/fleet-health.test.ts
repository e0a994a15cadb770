import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { createTargetHealth } from '../../../../src/routing/health/fleet/create.ts';
import { FleetHealth } from '../../../../src/routing/health/fleet/fleet-health.ts';
import { RELATIVE_ERROR } from '../../../../src/routing/health/histogram.ts';
import { LocalHealth } from '../../../../src/routing/health/local.ts';
import { redisCli, startRedis, type TestRedis } from '../../../support/redis-server.ts';
import { CONFIG, KEY, connected, fleet as fleetOn, outcome, steps, syncAll } from './fixture.ts';

/**
 * FleetHealth: two instances on one real redis-server stand for two replicas. A fake clock
 * moves time; `syncNow()` stands for the 1 s timer, so nothing here sleeps for the sync.
 */
let redis: TestRedis;
const open: FleetHealth[] = [];

before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis?.stop();
});
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
});

function fleet(n: number): ReturnType<typeof fleetOn> & { key: string } {
  return { ...fleetOn(redis.url, n, open), key: KEY };
}
describe('FleetHealth: two replicas on one Redis', () => {
  it('a latency breaker opened by A\'s attempts is open on B after a sync, reported there as adopted', async () => {
    const { replicas: [a, b], clock, key } = fleet(2);
    await connected([a!, b!], key, clock);
    for (let i = 0; i < 3; i++) a!.h.record(outcome(key, clock.now + i, 'ok', 2500));
    assert.equal(a!.h.get(key, clock.now + 3).breaker, 'open');
    assert.equal(b!.h.get(key, clock.now + 3).breaker, 'closed', 'B has not synced yet');
    await a!.h.syncNow();
    await b!.h.syncNow();
    const seen = b!.h.get(key, clock.now + 3);
    assert.equal(seen.breaker, 'open');
    assert.equal(seen.breakerReason, 'latency');
    assert.equal(seen.openUntilMs, a!.h.get(key, clock.now + 3).openUntilMs, 'the same open period');
    assert.deepEqual(steps(a!.transitions), ['closed>open:latency:local']);
    assert.deepEqual(steps(b!.transitions), ['closed>open:latency:fleet']);
    assert.match(b!.transitions[0]!.detail, /3 attempts in a row above 1000 ms/, 'B reports A\'s evidence');
  });

  it('a target tracked from the config is learnt before this replica\'s first request to it', async () => {
    const { replicas: [a, b], clock, key } = fleet(2);
    await connected([a!], key, clock);
    for (let i = 0; i < 3; i++) a!.h.record(outcome(key, clock.now + i, 'ok', 2500));
    await syncAll(a!);
    b!.h.track([key]); // as Gateway.start does with gateway.yaml's targets
    const deadline = Date.now() + 5000;
    while (!b!.h.isShared(key)) {
      assert.ok(Date.now() < deadline, 'B reaches Redis');
      await syncAll(b!);
    }
    assert.equal(b!.h.get(key, clock.now + 3).breaker, 'open', 'the first read already has the fleet\'s breaker');
  });

  it('errors split across replicas open the error breaker: each alone is below minRequests, together above the rate', async () => {
    const { replicas: [a, b], clock, key } = fleet(2);
    await connected([a!, b!], key, clock);
    for (let i = 0; i < 3; i++) a!.h.record(outcome(key, clock.now + i, 'error'));
    for (let i = 0; i < 3; i++) b!.h.record(outcome(key, clock.now + i, 'error'));
    assert.equal(a!.h.get(key, clock.now + 5).breaker, 'closed', '3 attempts < minRequests 6');
    assert.equal(b!.h.get(key, clock.now + 5).breaker, 'closed');
    await a!.h.syncNow(); // A's 3 reach Redis
    await b!.h.syncNow(); // B's 3 too, and B reads all 6: the rule opens it
    assert.equal(b!.h.get(key, clock.now + 5).breaker, 'open');
    await a!.h.syncNow();
    assert.equal(a!.h.get(key, clock.now + 5).breaker, 'open');
    assert.deepEqual(steps(b!.transitions), ['closed>open:errors:local']);
    assert.deepEqual(steps(a!.transitions), ['closed>open:errors:fleet'], 'decided once, adopted by the other');
    assert.match(b!.transitions[0]!.detail, /6 of 6 attempts failed/);
    const snap = a!.h.get(key, clock.now + 5);
    assert.equal(snap.attempts, 6, 'A\'s figures are the fleet\'s');
    assert.equal(snap.errorRate, 1);
  });

  it('exactly one replica takes the half-open probe; its success closes the breaker for both, and the old errors no longer count', async () => {
    const { replicas: [a, b], clock, key } = fleet(2);
    await connected([a!, b!], key, clock);
    for (let i = 0; i < 6; i++) a!.h.record(outcome(key, clock.now + i, 'error'));
    assert.equal(a!.h.get(key, clock.now + 6).breaker, 'open');
    await a!.h.syncNow();
    await b!.h.syncNow();
    clock.now += 5000 + 10;
    // The timer's syncs in the meantime (the fleet's figures stay fresh).
    await a!.h.syncNow();
    await b!.h.syncNow();
    for (const r of [a!, b!]) assert.equal(r.h.get(key, clock.now).breaker, 'half-open');
    assert.equal(a!.h.tryProbe(key, clock.now), false, 'no claim yet: asked for in the background');
    assert.equal(b!.h.tryProbe(key, clock.now), false);
    await a!.h.syncNow();
    await b!.h.syncNow();
    const grants = [a!.h.tryProbe(key, clock.now), b!.h.tryProbe(key, clock.now)];
    assert.deepEqual(grants.filter(Boolean).length, 1, `exactly one probe in the fleet (${grants.join(', ')})`);
    const [winner, loser] = grants[0] ? [a!, b!] : [b!, a!];
    assert.equal(winner.h.tryProbe(key, clock.now), false, 'one probe at a time on the winner too');
    assert.equal(loser.h.tryProbe(key, clock.now), false);
    winner.h.record(outcome(key, clock.now + 1, 'ok', 200));
    assert.equal(winner.h.get(key, clock.now + 2).breaker, 'closed');
    await winner.h.syncNow();
    await loser.h.syncNow();
    assert.equal(loser.h.get(key, clock.now + 2).breaker, 'closed');
    assert.equal(loser.transitions.at(-1)!.source, 'fleet');
    assert.equal(loser.transitions.at(-1)!.to, 'closed');
    // The six errors that opened it are of the old generation (the probe's attempt too, as
    // LocalHealth clears its window at a close): one new error is all the rule sees now.
    loser.h.record(outcome(key, clock.now + 3, 'error'));
    await loser.h.syncNow();
    await winner.h.syncNow();
    for (const r of [a!, b!]) {
      const s = r.h.get(key, clock.now + 4);
      assert.equal(s.breaker, 'closed');
      assert.equal(s.attempts, 1, 'only the new error');
    }
    // Counted once in the fleet: each change is one replica's own ("local") decision.
    const own = [...a!.transitions, ...b!.transitions].filter((t) => t.source === 'local').map((t) => t.to).sort();
    assert.deepEqual(own, ['closed', 'half-open', 'open']);
  });

  it('a failed probe reopens the breaker for both and gives the claim back: the next half-open probe may be the other replica\'s', async () => {
    const { replicas: [a, b], clock, key } = fleet(2);
    await connected([a!, b!], key, clock);
    for (let i = 0; i < 3; i++) a!.h.record(outcome(key, clock.now + i, 'ok', 2500));
    await syncAll(a!, b!);
    clock.now += 5000 + 10;
    await syncAll(a!, b!);
    // Only A asks, so A holds the claim.
    assert.equal(a!.h.tryProbe(key, clock.now), false);
    await syncAll(a!);
    assert.equal(a!.h.tryProbe(key, clock.now), true, 'A holds the claim and grants the probe');
    b!.h.get(key, clock.now);
    assert.equal(b!.h.tryProbe(key, clock.now), false);
    await syncAll(b!);
    assert.equal(b!.h.tryProbe(key, clock.now), false, 'B cannot claim it while A holds it');
    a!.h.record(outcome(key, clock.now + 1, 'ok', 3000)); // slow: the probe failed
    assert.equal(a!.h.get(key, clock.now + 2).breaker, 'open');
    await syncAll(a!, b!);
    assert.equal(b!.h.get(key, clock.now + 2).breaker, 'open', 'B adopted the reopen');
    assert.deepEqual(steps(b!.transitions).slice(-1), ['half-open>open:latency:fleet']);
    clock.now += 5000 + 10;
    await syncAll(a!, b!);
    // B asks first this time: A gave its claim back when the probe failed.
    assert.equal(b!.h.tryProbe(key, clock.now), false);
    await syncAll(b!);
    assert.equal(b!.h.tryProbe(key, clock.now), true, 'B takes the next probe');
    assert.equal(a!.h.tryProbe(key, clock.now), false);
    await syncAll(a!);
    assert.equal(a!.h.tryProbe(key, clock.now), false, 'and only B');
  });

  it('a 429\'s cool-down on A is honoured by B', async () => {
    const { replicas: [a, b], clock, key } = fleet(2);
    await connected([a!, b!], key, clock);
    a!.h.record(outcome(key, clock.now, 'rate_limited', 50, { retryAfterMs: 20_000 }));
    assert.equal(a!.h.get(key, clock.now + 1).coolingUntilMs, clock.now + 20_000);
    await a!.h.syncNow();
    await b!.h.syncNow();
    assert.equal(b!.h.get(key, clock.now + 1).coolingUntilMs, clock.now + 20_000);
    // A shorter one elsewhere does not shorten it.
    b!.h.record(outcome(key, clock.now + 2, 'rate_limited', 50, { retryAfterMs: 1000 }));
    await b!.h.syncNow();
    await a!.h.syncNow();
    assert.equal(a!.h.get(key, clock.now + 3).coolingUntilMs, clock.now + 20_000);
    assert.equal(b!.h.get(key, clock.now + 3).coolingUntilMs, clock.now + 20_000);
    assert.equal(b!.h.get(key, clock.now + 20_001).coolingUntilMs, undefined, 'over at its end');
  });

  it('a cool-down ending at a fractional ms (an outcome timed with sub-ms precision) still reaches B', async () => {
    // Redis refuses a fractional PX; a replica's fractional atMs once kept every 429 to itself.
    const { replicas: [a, b], clock, key } = fleet(2);
    await connected([a!, b!], key, clock);
    a!.h.record(outcome(key, clock.now + 0.4, 'rate_limited', 50, { retryAfterMs: 6351.02 }));
    await a!.h.syncNow();
    await b!.h.syncNow();
    const until = b!.h.get(key, clock.now + 1).coolingUntilMs;
    assert.ok(until !== undefined && until >= clock.now + 6351.42 && until <= clock.now + 6352.42, `B cools until ${until}`);
    assert.equal(a!.h.isShared(key), true, 'A still counts Redis as answering');
  });

  it('the merged window holds both replicas\' samples: p95 and the decaying latency', async () => {
    const { replicas: [a, b], clock, key } = fleet(2);
    await connected([a!, b!], key, clock);
    // A: 19 fast answers; B: 1 slow one. The p95 (nearest rank 19 of 20) is fast, the 100th percentile not.
    for (let i = 0; i < 19; i++) a!.h.record(outcome(key, clock.now + i, 'ok', 100));
    b!.h.record(outcome(key, clock.now, 'ok', 900));
    for (let i = 0; i < 4; i++) b!.h.record(outcome(key, clock.now + 1 + i, 'ok', 900));
    await a!.h.syncNow();
    await b!.h.syncNow();
    await a!.h.syncNow();
    for (const r of [a!, b!]) {
      const s = r.h.get(key, clock.now + 30);
      assert.equal(s.samples, 24);
      assert.equal(s.attempts, 24);
      // 19 × 100 + 5 × 900 over 24, all in one sub-window (one weight).
      assert.ok(Math.abs(s.latencyMs.json! - (19 * 100 + 5 * 900) / 24) < 1, `decayed latency ${s.latencyMs.json}`);
      assert.ok(Math.abs(s.p95Ms.json! - 900) <= 900 * RELATIVE_ERROR, `p95 ${s.p95Ms.json} is B's 900 ms (rank 23 of 24)`);
    }
  });

  it('samples flushed late into an older sub-window (after an outage) are read by the next whole-window read, within 10 s', async () => {
    const { replicas: [a, b], clock, key } = fleet(2);
    await connected([a!, b!], key, clock);
    // B's sample 5 s ago, never flushed (as if Redis had been away for B): it lands in an old sub-window.
    b!.h.record(outcome(key, clock.now - 5000, 'ok', 700));
    a!.h.record(outcome(key, clock.now, 'ok', 100));
    await syncAll(b!, a!);
    assert.equal(b!.h.get(key, clock.now + 1).samples, 1, 'B read back the sub-window it wrote, not yet A\'s');
    const beforeFull = a!.h.get(key, clock.now + 1).samples;
    assert.ok(beforeFull === 1 || beforeFull === 2, 'A reads the newest sub-windows every sync');
    clock.now += 10_000;
    await syncAll(a!, b!);
    assert.equal(a!.h.get(key, clock.now).samples, 2, 'the whole-window read has B\'s late sample');
    assert.equal(b!.h.get(key, clock.now).samples, 2);
  });

  it('keys share one hash tag per target and all expire', async () => {
    const { replicas: [a], clock, key, keyPrefix } = fleet(1);
    await connected([a!], key, clock);
    for (let i = 0; i < 3; i++) a!.h.record(outcome(key, clock.now + i, 'ok', 2500));
    a!.h.record(outcome(key, clock.now + 4, 'rate_limited', 50, { retryAfterMs: 5000 }));
    await a!.h.syncNow();
    const keys = (await redisCli(redis.port, 'KEYS', `${keyPrefix}*`)).split('\n').filter(Boolean).sort();
    assert.ok(keys.length >= 3, keys.join(' '));
    for (const k of keys) {
      assert.match(k, /^t\d+:h[wbc]:\{h:openai\/gpt-4o-mini\}/, `${k}: one hash tag per target`);
      assert.ok(Number(await redisCli(redis.port, 'PTTL', k)) > 0, `${k} expires`);
    }
  });
});

describe('FleetHealth when Redis is down', () => {
  it('both replicas serve from their own figures and breakers, warn once, and share again when Redis is back', async () => {
    const { replicas: [a, b], clock, key } = fleet(2);
    await connected([a!, b!], key, clock);
    a!.h.record(outcome(key, clock.now, 'ok', 100));
    b!.h.record(outcome(key, clock.now, 'ok', 300));
    await a!.h.syncNow();
    await b!.h.syncNow();
    assert.equal(b!.h.get(key, clock.now + 1).samples, 2, 'shared before the outage');

    await redis.kill();
    clock.now += 4000; // past 3 sync intervals: the fleet's figures are stale
    for (const r of [a!, b!]) await r.h.syncNow();
    // Nothing waits for Redis: record, get and tryProbe answer at once from local state.
    for (let i = 0; i < 3; i++) a!.h.record(outcome(key, clock.now + i, 'ok', 2500));
    const sa = a!.h.get(key, clock.now + 5);
    assert.equal(sa.breaker, 'open', 'A\'s own breaker still opens');
    assert.equal(sa.samples, 4, 'A\'s own samples: its 1 + 3, not B\'s');
    assert.equal(b!.h.get(key, clock.now + 5).samples, 1, 'B\'s own');
    assert.equal(b!.h.get(key, clock.now + 5).breaker, 'closed', 'B cannot learn of it while Redis is down');
    assert.equal(b!.h.tryProbe(key, clock.now + 5), true);
    await a!.h.syncNow();
    assert.equal(a!.warns.length, 1, `one warn per outage: ${a!.warns.join(' | ')}`);
    assert.match(a!.warns[0]!, /Redis not answering/);

    await redis.restart();
    const deadline = Date.now() + 10_000;
    while (!(a!.h.isShared(key) && b!.h.isShared(key))) {
      assert.ok(Date.now() < deadline, 'both share again once Redis answers');
      await new Promise((r) => setTimeout(r, 100));
      await a!.h.syncNow();
      await b!.h.syncNow();
    }
    // A's decision made during the outage is written once Redis answers; B adopts it.
    await a!.h.syncNow();
    await b!.h.syncNow();
    assert.equal(b!.h.get(key, clock.now + 6).breaker, 'open');
    assert.deepEqual(steps(b!.transitions), ['closed>open:latency:fleet']);
    assert.equal(a!.warns.length, 1, 'still one warn');
    clock.now += 6000;
    await a!.h.syncNow();
    assert.equal(a!.infos.length, 1, 'one info when the outage is over');
  });
});

describe('FleetHealth when Redis stalls', () => {
  it('nothing waits for it: calls answer from local state, the sync gives up after the command timeout, and sharing resumes', async () => {
    const { replicas: [a, b], clock, key } = fleet(2);
    await connected([a!, b!], key, clock);
    redis.pause();
    try {
      clock.now += 4000;
      const sync = a!.h.syncNow(); // its commands wait for the command timeout (500 ms)
      a!.h.record(outcome(key, clock.now, 'ok', 100));
      for (let i = 0; i < 3; i++) a!.h.record(outcome(key, clock.now + i, 'ok', 2500));
      assert.equal(a!.h.get(key, clock.now + 5).breaker, 'open', 'decided at once, locally');
      assert.equal(a!.h.get(key, clock.now + 5).samples, 4, 'from A\'s own window');
      assert.equal(a!.h.tryProbe(key, clock.now + 5), false, 'open: no probe');
      await sync;
      assert.equal(a!.h.isShared(key), false);
      assert.equal(a!.warns.length, 1);
    } finally {
      redis.resume();
    }
    const deadline = Date.now() + 10_000;
    while (!(a!.h.isShared(key) && b!.h.isShared(key))) {
      assert.ok(Date.now() < deadline, 'sharing resumes');
      await syncAll(a!, b!);
    }
    await syncAll(a!, b!);
    assert.equal(b!.h.get(key, clock.now + 6).breaker, 'open', 'the decision made during the stall reached B');
  });
});

describe('createTargetHealth', () => {
  it('without REDIS_URL: LocalHealth, exactly as per process; with it: FleetHealth', async () => {
    const onTransition = (): void => {};
    const log = { warn: () => {}, info: () => {} };
    const redisSettings = { keyPrefix: 'llmx:', commandTimeoutMs: 250, connectTimeoutMs: 1000 };
    const local = createTargetHealth({ config: CONFIG, onTransition, env: {}, redis: redisSettings, log });
    assert.ok(local instanceof LocalHealth);
    await local.close();
    const shared = createTargetHealth({ config: CONFIG, onTransition, env: { REDIS_URL: redis.url }, redis: redisSettings, log });
    assert.ok(shared instanceof FleetHealth);
    await shared.close();
  });
});
