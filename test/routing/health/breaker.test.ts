import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KEY, T0, health, json, steps, stream } from './fixture.ts';

describe('latency breaker (10 s, 3 in a row, open 5 min)', () => {
  it('opens on 3 slow attempts in a row', () => {
    const { h, transitions } = health();
    h.record(json(T0, 10_001));
    h.record(json(T0 + 1, 12_000));
    assert.equal(h.get(KEY, T0 + 2).breaker, 'closed');
    h.record(json(T0 + 2, 30_000));
    const s = h.get(KEY, T0 + 3);
    assert.equal(s.breaker, 'open');
    assert.equal(s.breakerReason, 'latency');
    assert.equal(s.openUntilMs, T0 + 2 + 300_000);
    assert.deepEqual(steps(transitions), ['closed>open:latency']);
    assert.equal(transitions[0]!.key, KEY);
    assert.equal(transitions[0]!.atMs, T0 + 2);
    assert.equal(transitions[0]!.detail, '3 attempts in a row above 10000 ms (last 30000 ms)');
  });

  it('does not open on 2 slow + 1 fast + 2 slow; exactly the threshold is not slow', () => {
    const { h, transitions } = health();
    for (const [i, ms] of [11_000, 11_000, 9_000, 11_000, 11_000, 10_000].entries()) h.record(json(T0 + i, ms));
    assert.equal(h.get(KEY, T0 + 10).breaker, 'closed');
    assert.deepEqual(transitions, []);
  });

  it('judges streams by time to first token, not total time', () => {
    const { h } = health();
    for (let i = 0; i < 5; i++) h.record(stream(T0 + i, 200, 60_000));
    assert.equal(h.get(KEY, T0 + 10).breaker, 'closed', 'long streams with a quick first token are fast');
    for (let i = 0; i < 3; i++) h.record(stream(T0 + 10 + i, 10_500, 11_000));
    assert.equal(h.get(KEY, T0 + 20).breaker, 'open');
  });

  it('a slow failure extends the run, a fast failure neither extends nor resets it', () => {
    const { h } = health();
    h.record(json(T0, 11_000));
    h.record(json(T0 + 1, 50, 'error'));
    h.record(json(T0 + 2, 11_000));
    assert.equal(h.get(KEY, T0 + 3).breaker, 'closed');
    h.record(json(T0 + 3, 120_000, 'timeout'));
    assert.equal(h.get(KEY, T0 + 4).breaker, 'open');
  });

  it('a caller\'s 4xx never counts, however slow', () => {
    const { h } = health();
    for (let i = 0; i < 10; i++) h.record(json(T0 + i, 20_000, 'client_error'));
    assert.equal(h.get(KEY, T0 + 20).breaker, 'closed');
  });

  it('consecutive and thresholdMs are configurable', () => {
    const { h } = health({ breaker: { latency: { thresholdMs: 500, consecutive: 1, openMs: 1000 } } });
    h.record(json(T0, 501));
    const s = h.get(KEY, T0 + 1);
    assert.equal(s.breaker, 'open');
    assert.equal(s.openUntilMs, T0 + 1000);
  });
});

describe('error breaker (5 % over 5 min, at least 20 attempts)', () => {
  it('opens above 5 % once the window holds 20 attempts', () => {
    const { h, transitions } = health();
    for (let i = 0; i < 18; i++) h.record(json(T0 + i, 100));
    h.record(json(T0 + 18, 100, 'error'));
    assert.equal(h.get(KEY, T0 + 19).breaker, 'closed', '19 attempts: below the volume');
    h.record(json(T0 + 19, 100, 'reset'));
    const s = h.get(KEY, T0 + 20);
    assert.equal(s.breaker, 'open');
    assert.equal(s.breakerReason, 'errors');
    assert.equal(s.attempts, 20);
    assert.equal(s.errorRate, 0.1);
    assert.deepEqual(steps(transitions), ['closed>open:errors']);
    assert.equal(transitions[0]!.detail, '2 of 20 attempts failed (10.0 %) in 300000 ms, above 5 %');
  });

  it('does not open with 19 attempts, however many failed', () => {
    const { h } = health();
    for (let i = 0; i < 19; i++) h.record(json(T0 + i, 100, i % 2 === 0 ? 'timeout' : 'error'));
    const s = h.get(KEY, T0 + 20);
    assert.equal(s.breaker, 'closed');
    assert.equal(s.errorRate, 1);
  });

  it('exactly 5 % does not open; an answer that brings the volume to 20 does', () => {
    const a = health();
    for (let i = 0; i < 19; i++) a.h.record(json(T0 + i, 100));
    a.h.record(json(T0 + 19, 100, 'error'));
    assert.equal(a.h.get(KEY, T0 + 20).breaker, 'closed', '1 of 20 is 5 %, not above');
    const b = health();
    for (let i = 0; i < 2; i++) b.h.record(json(T0 + i, 100, 'error'));
    for (let i = 2; i < 20; i++) b.h.record(json(T0 + i, 100));
    assert.equal(b.h.get(KEY, T0 + 20).breaker, 'open');
  });

  it('a caller\'s 4xx and provider 429s are not attempts', () => {
    const { h } = health();
    for (let i = 0; i < 19; i++) h.record(json(T0 + i, 100));
    for (let i = 0; i < 30; i++) h.record(json(T0 + 100 + i, 100, 'client_error'));
    for (let i = 0; i < 30; i++) h.record(json(T0 + 200 + i, 100, 'rate_limited'));
    const s = h.get(KEY, T0 + 300);
    assert.equal(s.attempts, 19);
    assert.equal(s.errorRate, 0);
    assert.equal(s.breaker, 'closed');
  });

  it('counts only the window: errors that left it do not open', () => {
    const { h } = health();
    for (let i = 0; i < 3; i++) h.record(json(T0 + i, 100, 'error'));
    const later = T0 + 300_000; // the first sub-window has left the window
    for (let i = 0; i < 20; i++) h.record(json(later + i, 100));
    const s = h.get(KEY, later + 20);
    assert.equal(s.attempts, 20);
    assert.equal(s.breaker, 'closed');
  });
});

describe('half-open probe', () => {
  /** A breaker opened by errors at T0 + 19, open until T0 + 19 + openMs. */
  function opened(openMs = 300_000) {
    const fx = health({ breaker: { errors: { openMs } } });
    for (let i = 0; i < 20; i++) fx.h.record(json(T0 + i, 100, 'error'));
    assert.equal(fx.h.get(KEY, T0 + 20).breaker, 'open');
    return { ...fx, reopen: T0 + 19 + openMs };
  }

  it('lets no one through while open, then exactly one probe', () => {
    const { h, reopen, transitions } = opened();
    assert.equal(h.tryProbe(KEY, reopen - 1), false);
    assert.equal(h.get(KEY, reopen - 1).breaker, 'open');
    assert.equal(h.get(KEY, reopen).breaker, 'half-open');
    assert.equal(h.get(KEY, reopen).breakerReason, 'errors');
    assert.equal(h.tryProbe(KEY, reopen), true);
    for (let i = 1; i <= 5; i++) assert.equal(h.tryProbe(KEY, reopen + i * 1000), false, 'the probe is out');
    assert.deepEqual(steps(transitions), ['closed>open:errors', 'open>half-open:errors']);
  });

  it('a probe given back unused (the request never tried the target) can be taken by the next request', () => {
    const { h, reopen } = opened();
    assert.equal(h.tryProbe(KEY, reopen), true);
    assert.equal(h.tryProbe(KEY, reopen + 1), false, 'the probe is out');
    h.releaseProbe(KEY);
    assert.equal(h.get(KEY, reopen + 2).breaker, 'half-open', 'still half-open: nothing was learned');
    assert.equal(h.tryProbe(KEY, reopen + 2), true, 'the next request takes it');
    h.releaseProbe('unknown/target');
  });

  it('success closes, clears the counts that opened it, and lets everyone through', () => {
    const { h, reopen, transitions } = opened();
    assert.equal(h.tryProbe(KEY, reopen), true);
    h.record(json(reopen + 500, 400));
    const s = h.get(KEY, reopen + 501);
    assert.equal(s.breaker, 'closed');
    assert.equal(s.breakerReason, undefined);
    assert.equal(s.attempts, 0, 'the window\'s error counts start afresh');
    assert.equal(h.tryProbe(KEY, reopen + 502), true);
    assert.equal(h.tryProbe(KEY, reopen + 502), true);
    h.record(json(reopen + 600, 100, 'error'));
    assert.equal(h.get(KEY, reopen + 601).breaker, 'closed', 'one error after closing does not reopen');
    assert.deepEqual(steps(transitions), ['closed>open:errors', 'open>half-open:errors', 'half-open>closed:errors']);
  });

  it('failure reopens for openMs', () => {
    const { h, reopen, transitions } = opened();
    assert.equal(h.tryProbe(KEY, reopen), true);
    h.record(json(reopen + 100, 100, 'error'));
    const s = h.get(KEY, reopen + 101);
    assert.equal(s.breaker, 'open');
    assert.equal(s.openUntilMs, reopen + 100 + 300_000);
    assert.equal(h.tryProbe(KEY, reopen + 100 + 299_999), false);
    assert.equal(h.tryProbe(KEY, reopen + 100 + 300_000), true);
    assert.deepEqual(steps(transitions), ['closed>open:errors', 'open>half-open:errors', 'half-open>open:errors', 'open>half-open:errors']);
  });

  it('a slow probe answer reopens on latency', () => {
    const { h, reopen, transitions } = opened();
    assert.equal(h.tryProbe(KEY, reopen), true);
    h.record(json(reopen + 20_000, 20_000));
    assert.equal(h.get(KEY, reopen + 20_001).breaker, 'open');
    assert.equal(transitions.at(-1)!.reason, 'latency');
    assert.equal(transitions.at(-1)!.detail, 'probe answered in 20000 ms, above 10000 ms');
  });

  it('a lost probe lapses after probeTimeoutMs; a 4xx or 429 releases it without deciding', () => {
    const { h, reopen } = opened();
    assert.equal(h.tryProbe(KEY, reopen), true);
    assert.equal(h.tryProbe(KEY, reopen + 119_999), false);
    assert.equal(h.tryProbe(KEY, reopen + 120_000), true, 'the first probe never reported');
    h.record(json(reopen + 120_100, 30, 'client_error'));
    assert.equal(h.get(KEY, reopen + 120_101).breaker, 'half-open');
    assert.equal(h.tryProbe(KEY, reopen + 120_102), true);
    h.record(json(reopen + 120_200, 30, 'rate_limited'));
    assert.equal(h.get(KEY, reopen + 120_201).breaker, 'half-open');
    assert.equal(h.tryProbe(KEY, reopen + 120_202), true);
  });

  it('a latency breaker closes after a fast probe; its slow run starts afresh', () => {
    const { h, transitions } = health({ breaker: { latency: { openMs: 1000 } } });
    for (let i = 0; i < 3; i++) h.record(json(T0 + i, 15_000));
    assert.equal(h.tryProbe(KEY, T0 + 2 + 1000), true);
    h.record(json(T0 + 3000, 300));
    assert.equal(h.get(KEY, T0 + 3001).breaker, 'closed');
    h.record(json(T0 + 4000, 15_000));
    h.record(json(T0 + 5000, 15_000));
    assert.equal(h.get(KEY, T0 + 5001).breaker, 'closed');
    assert.deepEqual(steps(transitions), ['closed>open:latency', 'open>half-open:latency', 'half-open>closed:latency']);
  });

  it('unknown and closed targets are always let through', () => {
    const { h } = health();
    assert.equal(h.tryProbe('nobody/none', T0), true);
    h.record(json(T0, 100));
    assert.equal(h.tryProbe(KEY, T0 + 1), true);
    assert.equal(h.tryProbe(KEY, T0 + 1), true);
  });
});
