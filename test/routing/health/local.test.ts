import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LocalHealth } from '../../../src/routing/health/local.ts';
import { KEY, T0, health, json } from './fixture.ts';

describe('LocalHealth snapshots and memory', () => {
  it('an unknown target is healthy with no samples, and creates no state', () => {
    const { h } = health();
    const s = h.get('anthropic/claude', T0);
    assert.deepEqual({ ...s }, { latencyMs: {}, p95Ms: {}, samples: 0, errorRate: 0, attempts: 0, cachedInputShare: 0, breaker: 'closed' });
    assert.equal(h.size, 0);
  });

  it('get returns the same frozen snapshot until data or the second changes', () => {
    const { h } = health();
    h.record(json(T0, 100));
    const a = h.get(KEY, T0 + 1);
    assert.ok(Object.isFrozen(a) && Object.isFrozen(a.latencyMs) && Object.isFrozen(a.p95Ms));
    assert.equal(h.get(KEY, T0 + 999), a, 'same second, no new data');
    const b = h.get(KEY, T0 + 1_000);
    assert.notEqual(b, a, 'a new second recomputes');
    h.record(json(T0 + 1_001, 300));
    const c = h.get(KEY, T0 + 1_002);
    assert.notEqual(c, b, 'a new sample recomputes');
    assert.equal(c.samples, 2);
  });

  it('a snapshot shows the breaker turning half-open at openUntil, mid-second', () => {
    const { h } = health({ breaker: { latency: { openMs: 1_500 } } });
    for (let i = 0; i < 3; i++) h.record(json(T0 + i, 20_000));
    assert.equal(h.get(KEY, T0 + 1_501).breaker, 'open');
    assert.equal(h.get(KEY, T0 + 1_502).breaker, 'half-open');
  });

  it('drops closed targets not recorded for idleDropMs; keeps open ones', () => {
    const { h } = health({ breaker: { errors: { minRequests: 1, openMs: 86_400_000 } } }, { idleDropMs: 3_600_000 });
    h.record({ ...json(T0, 100), key: 'a/idle' });
    h.record({ ...json(T0, 100, 'error'), key: 'b/broken' });
    assert.equal(h.get('b/broken', T0 + 1).breaker, 'open');
    h.record({ ...json(T0 + 3_600_000, 100), key: 'c/busy' });
    assert.equal(h.size, 2);
    assert.equal(h.get('a/idle', T0 + 3_600_001).attempts, 0);
    assert.equal(h.get('b/broken', T0 + 3_600_001).breaker, 'open', 'dropping an open breaker would close it');
  });

  it('tracks at most maxTargets, dropping the least recently recorded', () => {
    const { h } = health({}, { maxTargets: 4 });
    for (let i = 0; i < 50; i++) h.record({ ...json(T0 + i, 100), key: `p/m${i}` });
    assert.equal(h.size, 4);
    assert.equal(h.get('p/m49', T0 + 60).attempts, 1);
    assert.equal(h.get('p/m0', T0 + 60).attempts, 0);
  });

  it('a listener that throws leaves the state complete', () => {
    const h = new LocalHealth({ onTransition: () => { throw new Error('log sink down'); } });
    h.record(json(T0, 20_000));
    h.record(json(T0 + 1, 20_000));
    assert.throws(() => h.record(json(T0 + 2, 20_000)), /log sink down/);
    const s = h.get(KEY, T0 + 3);
    assert.deepEqual([s.breaker, s.samples], ['open', 3]);
  });

  it('refuses an outcome without a clock, naming the target', () => {
    const { h } = health();
    assert.throws(() => h.record(json(Number.NaN, 100)), /openai\/gpt-4o-mini has no finite atMs/);
  });
});
