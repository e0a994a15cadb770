import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { orderTargets } from '../../../src/routing/strategy/order.ts';
import { FakeHealth, flatPrice, inputOf, STREAM_REQ, T0, targetsOf } from './support.ts';

describe('constraints', () => {
  test('SLA skips a target whose p95 for the request\'s kind is above it; no samples is allowed', () => {
    const h = new FakeHealth().set('a/m', { p95Ms: { stream: 2500, json: 900 } }).set('b/m', { p95Ms: { stream: 1500 } });
    const routing = { constraints: { latencySlaMs: 2000 } };
    const stream = orderTargets(inputOf({ targets: targetsOf(3), routing, health: h, request: STREAM_REQ }));
    assert.deepEqual(stream.order, [1, 2]);
    assert.deepEqual(stream.unmet, []);
    const skipped = stream.explain().skipped;
    assert.deepEqual(skipped.map((s) => [s.index, s.reasons, s.detail]), [[0, ['sla'], 'p95 2500 ms > SLA 2000 ms']]);
    assert.deepEqual(orderTargets(inputOf({ targets: targetsOf(3), routing, health: h })).order, [0, 1, 2], 'json p95 900 ms is within');
  });
  test('maxPriceUsd skips targets whose estimate for this request is above it', () => {
    // 1,000 prompt + 500 output: a 0.0105, b 0.00045, c 0.0015 USD
    const ps = [flatPrice({ input: 3, output: 15 }), flatPrice({ input: 0.15, output: 0.6 }), flatPrice({ input: 1, output: 1 })];
    const d = orderTargets(inputOf({ targets: targetsOf(3, ps), routing: { constraints: { maxPriceUsd: 0.01 } } }));
    assert.deepEqual(d.order, [1, 2], 'priority order among those within the price');
    assert.deepEqual(d.explain().skipped.map((s) => [s.index, s.reasons, s.detail]), [[0, ['price'], 'estimate 0.0105 USD > max 0.01 USD']]);
  });
  test('best-available (default): nothing meets them → the best order anyway, unmet says which', () => {
    const h = new FakeHealth().set('a/m', { p95Ms: { json: 3000 } }).set('b/m', { p95Ms: { json: 2500 } });
    const ps = [flatPrice({ input: 1, output: 1 }), flatPrice({ input: 100, output: 100 })];
    const d = orderTargets(inputOf({ targets: targetsOf(2, ps), routing: { strategy: 'cost', constraints: { latencySlaMs: 2000, maxPriceUsd: 0.01 } }, health: h }));
    assert.deepEqual(d.order, [0, 1]);
    assert.deepEqual(d.unmet, ['sla', 'price']);
    assert.equal(d.refusal, undefined);
    const e = d.explain();
    assert.deepEqual(e.candidates.map((c) => c.fallback?.reasons), [['sla'], ['sla', 'price']]);
    assert.deepEqual(e.unmet, ['sla', 'price']);
  });
  test('refuse: nothing meets them → a refusal naming the constraint and the best figure', () => {
    const h = new FakeHealth().set('a/m', { p95Ms: { json: 3000 } }).set('b/m', { p95Ms: { json: 2500 } });
    const d = orderTargets(inputOf({ targets: targetsOf(2), routing: { constraints: { latencySlaMs: 2000, onUnmet: 'refuse' } }, health: h }));
    assert.deepEqual(d.order, []);
    assert.equal(d.refusal?.reason, 'unmet');
    assert.deepEqual(d.refusal?.unmet, ['sla']);
    assert.match(d.refusal!.message, /latencySlaMs 2000 ms \(.*2500 ms\)/);
    const partly = orderTargets(inputOf({ targets: targetsOf(3), routing: { constraints: { latencySlaMs: 2000, onUnmet: 'refuse' } }, health: h }));
    assert.deepEqual(partly.order, [2], 'refuse still routes to the targets that meet them');
  });
});

describe('breakers and cool-downs', () => {
  const open = { breaker: 'open' as const, breakerReason: 'errors' as const, openUntilMs: T0 + 60_000 };
  test('an open breaker or a cooling target leaves the order while another can serve', () => {
    const h = new FakeHealth().set('a/m', open).set('b/m', { coolingUntilMs: T0 + 5000 });
    const d = orderTargets(inputOf({ targets: targetsOf(3), health: h }));
    assert.deepEqual(d.order, [2]);
    assert.deepEqual(d.explain().skipped.map((s) => [s.index, s.reasons]), [[0, ['breaker']], [1, ['cooling']]]);
    assert.match(d.explain().skipped[0]!.detail, /breaker open \(errors\) until 2026-06-01T12:01:00.000Z/);
  });
  test('a cool-down that has ended no longer counts', () => {
    const h = new FakeHealth().set('a/m', { coolingUntilMs: T0 });
    assert.deepEqual(orderTargets(inputOf({ targets: targetsOf(2), health: h })).order, [0, 1]);
  });
  test('they go last when nothing else can serve: after targets that only miss a constraint', () => {
    const h = new FakeHealth().set('a/m', open).set('b/m', { p95Ms: { json: 9000 } }).set('c/m', { coolingUntilMs: T0 + 1 });
    const d = orderTargets(inputOf({ targets: targetsOf(3), routing: { constraints: { latencySlaMs: 2000 } }, health: h }));
    assert.deepEqual(d.order, [1, 0, 2]);
    assert.deepEqual(d.unmet, ['sla']);
    assert.deepEqual(d.explain().candidates.map((c) => c.fallback?.reasons), [['sla'], ['breaker'], ['cooling']]);
    const onlyUnhealthy = orderTargets(inputOf({ targets: targetsOf(2), health: new FakeHealth().set('a/m', open).set('b/m', open) }));
    assert.deepEqual(onlyUnhealthy.order, [0, 1]);
  });
  test('half-open: in place when the probe is granted, as a breaker when not', () => {
    const h = new FakeHealth().set('a/m', { breaker: 'half-open', breakerReason: 'latency' });
    const asked: string[] = [];
    const granted = orderTargets(inputOf({ targets: targetsOf(2), health: h, tryProbe: (k) => (asked.push(k), true) }));
    assert.deepEqual([granted.order, asked], [[0, 1], ['a/m']]);
    const denied = orderTargets(inputOf({ targets: targetsOf(2), health: h, tryProbe: () => false }));
    assert.deepEqual(denied.order, [1]);
    assert.match(denied.explain().skipped[0]!.detail, /half-open \(latency\), probe taken/);
  });
  test('the probe is not taken by a request that would leave the target out', () => {
    const asked: string[] = [];
    const tryProbe = (k: string) => (asked.push(k), true);
    // over the SLA while another target meets it: not asked
    const h = new FakeHealth().set('a/m', { breaker: 'half-open', p95Ms: { json: 9000 } });
    assert.deepEqual(orderTargets(inputOf({ targets: targetsOf(2), routing: { constraints: { latencySlaMs: 2000 } }, health: h, tryProbe })).order, [1]);
    // cooling: not asked; not servable: not asked
    orderTargets(inputOf({ targets: targetsOf(2), health: new FakeHealth().set('a/m', { breaker: 'half-open', coolingUntilMs: T0 + 1 }), tryProbe }));
    orderTargets(inputOf({ targets: targetsOf(2), servable: 0b10, health: new FakeHealth().set('a/m', { breaker: 'half-open' }), tryProbe }));
    assert.deepEqual(asked, []);
    // over the SLA and nothing else meets it (best-available): asked, and routed first
    const h2 = new FakeHealth().set('a/m', { breaker: 'half-open', p95Ms: { json: 9000 } }).set('b/m', { p95Ms: { json: 9000 } });
    const d = orderTargets(inputOf({ targets: targetsOf(2), routing: { constraints: { latencySlaMs: 2000 } }, health: h2, tryProbe }));
    assert.deepEqual([d.order, asked], [[0, 1], ['a/m']]);
  });
  test('the capability mask beats everything: an unservable healthy target never appears', () => {
    const h = new FakeHealth().set('b/m', open);
    assert.deepEqual(orderTargets(inputOf({ targets: targetsOf(2), servable: 0b10, health: h })).order, [1]);
  });
});
