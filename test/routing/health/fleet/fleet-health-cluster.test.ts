import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FleetHealth } from '../../../../src/routing/health/fleet/fleet-health.ts';
import { startRedisCluster, type TestRedisCluster } from '../../../support/redis-server.ts';
import { KEY, connected, fleet, outcome, steps, syncAll } from './fixture.ts';

/**
 * FleetHealth on a Redis Cluster (3 masters): each target's keys share one hash tag, so its
 * sync pipeline and scripts stay on one slot. Two targets that hash to different shards are
 * shared like on one node.
 */
describe('FleetHealth on a Redis Cluster', () => {
  let cluster: TestRedisCluster;
  const open: FleetHealth[] = [];
  before(async () => {
    cluster = await startRedisCluster(3);
  });
  after(async () => {
    for (const h of open) await h.close();
    await cluster?.stop();
  });

  it('breakers, cool-downs and merged windows of two targets are shared by two replicas', async () => {
    const { replicas: [a, b], clock } = fleet(cluster.url, 2, open);
    // Slots (CRC16 of the hash tag): {h:openai/gpt-4o-mini} 6994, {h:openai/gpt-4o} 173: two of
    // the three masters (`redis-cli --cluster create` splits 0–5460, 5461–10922, 10923–16383).
    const other = 'openai/gpt-4o';
    await connected([a!, b!], KEY, clock, 15_000);
    await connected([a!, b!], other, clock, 15_000);
    for (let i = 0; i < 3; i++) a!.h.record(outcome(KEY, clock.now + i, 'ok', 2500));
    a!.h.record(outcome(other, clock.now, 'rate_limited', 50, { retryAfterMs: 9000 }));
    b!.h.record(outcome(other, clock.now, 'ok', 300));
    await syncAll(a!, b!, a!);
    assert.equal(b!.h.get(KEY, clock.now + 5).breaker, 'open');
    assert.deepEqual(steps(b!.transitions), ['closed>open:latency:fleet']);
    assert.equal(b!.h.get(other, clock.now + 5).coolingUntilMs, clock.now + 9000);
    assert.equal(a!.h.get(other, clock.now + 5).samples, 1, 'B\'s sample reached A');
    assert.equal(a!.h.get(KEY, clock.now + 5).samples, 3);
  });
});
