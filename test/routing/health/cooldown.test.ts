import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KEY, T0, health, json } from './fixture.ts';

describe('cool-down after a provider 429', () => {
  it('honours retry-after to the ms, and does not count as an error', () => {
    const { h, transitions } = health();
    h.record(json(T0, 80, 'rate_limited', { retryAfterMs: 7_000 }));
    assert.equal(h.get(KEY, T0 + 6_999).coolingUntilMs, T0 + 7_000);
    assert.equal(h.get(KEY, T0 + 7_000).coolingUntilMs, undefined);
    const s = h.get(KEY, T0 + 7_000);
    assert.deepEqual([s.breaker, s.attempts, s.errorRate], ['closed', 0, 0]);
    assert.deepEqual(transitions, []);
  });

  it('without retry-after: 1 s, doubling while 429s continue, back to 1 s after an answer', () => {
    const { h } = health();
    let at = T0;
    const until: number[] = [];
    for (let i = 0; i < 4; i++) {
      h.record(json(at, 50, 'rate_limited'));
      const u = h.get(KEY, at).coolingUntilMs!;
      until.push(u - at);
      at = u;
    }
    assert.deepEqual(until, [1_000, 2_000, 4_000, 8_000]);
    h.record(json(at, 50));
    h.record(json(at + 1, 50, 'rate_limited'));
    assert.equal(h.get(KEY, at + 1).coolingUntilMs, at + 1 + 1_000);
  });

  it('is capped at maxCooldownMs, retry-after included; a 429 never shortens a cool-down', () => {
    const { h } = health({ rateLimited: { cooldownMs: 1_000, maxCooldownMs: 5_000 } });
    h.record(json(T0, 50, 'rate_limited', { retryAfterMs: 86_400_000 }));
    assert.equal(h.get(KEY, T0).coolingUntilMs, T0 + 5_000);
    h.record(json(T0 + 1, 50, 'rate_limited', { retryAfterMs: 10 }));
    assert.equal(h.get(KEY, T0 + 1_001).coolingUntilMs, T0 + 5_000);
    let at = T0 + 5_000;
    for (let i = 0; i < 6; i++) {
      h.record(json(at, 50, 'rate_limited'));
      at = h.get(KEY, at).coolingUntilMs!;
    }
    h.record(json(at, 50, 'rate_limited'));
    assert.equal(h.get(KEY, at).coolingUntilMs, at + 5_000);
  });

  it('a 429 long after the last cool-down starts the doubling afresh', () => {
    const { h } = health({ rateLimited: { cooldownMs: 1_000, maxCooldownMs: 60_000 } });
    h.record(json(T0, 50, 'rate_limited'));
    h.record(json(T0 + 1_000, 50, 'rate_limited'));
    const end = h.get(KEY, T0 + 1_000).coolingUntilMs!;
    assert.equal(end, T0 + 3_000);
    h.record(json(end + 60_001, 50, 'rate_limited'));
    assert.equal(h.get(KEY, end + 60_001).coolingUntilMs, end + 60_001 + 1_000);
  });
});
