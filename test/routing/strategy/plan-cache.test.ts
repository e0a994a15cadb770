import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildRoutingPlan } from '../../../src/routing/plan.ts';
import { internOrder, orderCode } from '../../../src/routing/strategy/order-code.ts';
import { planFor } from '../../../src/routing/strategy/plan-cache.ts';

const targets = Object.freeze(['c0', 'c1', 'c2', 'c3'].map((cluster) => ({ provider: { cluster } })));

test('every order of 4 targets has its own code (64 non-empty orders)', () => {
  const codes = new Set<number>();
  const walk = (prefix: number[]) => {
    if (prefix.length > 0) codes.add(orderCode(prefix));
    for (let i = 0; i < 4; i++) if (!prefix.includes(i)) walk([...prefix, i]);
  };
  walk([]);
  assert.equal(codes.size, 64);
});

test('interned orders: equal orders are one frozen array', () => {
  const a = internOrder(Int32Array.of(2, 0, 1, 9), 3);
  assert.deepEqual(a, [2, 0, 1]);
  assert.equal(internOrder([2, 0, 1], 3), a);
  assert.ok(Object.isFrozen(a));
});

test('planFor: the plan plan.ts builds for that order, cached per model and order', () => {
  const p = planFor(targets, [2, 0]);
  assert.deepEqual(p, buildRoutingPlan(targets, [2, 0]));
  assert.equal(p.headers['x-llmx-try-1'], 'c2');
  assert.equal(p.headers['x-envoy-max-retries'], '1');
  assert.equal(planFor(targets, [2, 0]), p, 'the same object for the same order');
  assert.notEqual(planFor(targets, [0, 2]), p);
  assert.ok(Object.isFrozen(p) && Object.isFrozen(p.headers));
  const reloaded = Object.freeze(targets.map((t) => ({ ...t })));
  assert.notEqual(planFor(reloaded, [2, 0]), p, 'a reloaded config has its own plans');
  assert.throws(() => planFor(targets, []), /empty order/);
});
