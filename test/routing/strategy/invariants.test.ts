import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { prng } from '../../../src/lib/prng.ts';
import type { TargetHealthSnapshot } from '../../../src/routing/health/view.ts';
import { orderTargets } from '../../../src/routing/strategy/order.ts';
import { planFor } from '../../../src/routing/strategy/plan-cache.ts';
import { FakeHealth, flatPrice, inputOf, T0, targetsOf } from './support.ts';

const snapshot = fc.record({
  latencyMs: fc.record({ json: fc.option(fc.integer({ min: 1, max: 5000 }), { nil: undefined }) }),
  p95Ms: fc.record({ json: fc.option(fc.integer({ min: 1, max: 5000 }), { nil: undefined }) }),
  breaker: fc.constantFrom<TargetHealthSnapshot['breaker']>('closed', 'closed', 'open', 'half-open'),
  coolingUntilMs: fc.option(fc.constantFrom(T0 - 1, T0 + 1000), { nil: undefined }),
});

const routing = fc.record({
  strategy: fc.constantFrom('priority', 'weighted', 'latency', 'cost'),
  constraints: fc.record({
    latencySlaMs: fc.option(fc.integer({ min: 1, max: 5000 }), { nil: undefined }),
    maxPriceUsd: fc.option(fc.constantFrom(0.001, 0.005, 0.02), { nil: undefined }),
    onUnmet: fc.constantFrom('best-available', 'refuse'),
  }),
});

test('every decision: a servable subset without repeats; all healthy ones that meet the constraints when there are any; the plan follows the order', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 4 }).chain((n) =>
        fc.tuple(fc.constant(n), fc.array(snapshot, { minLength: n, maxLength: n }), fc.integer({ min: 0, max: (1 << n) - 1 }), routing, fc.array(fc.double({ min: 0.1, max: 20, noNaN: true }), { minLength: n, maxLength: n }), fc.integer(), fc.boolean()),
      ),
      ([n, snaps, servable, r, prices, seed, grant]) => {
        const health = new FakeHealth();
        const targets = targetsOf(n, prices.map((p) => flatPrice({ input: p, output: p })));
        snaps.forEach((s, i) => health.set(targets[i]!.key, s));
        const probes: string[] = [];
        const d = orderTargets(inputOf({ targets, routing: r, health, servable, random: prng(seed), tryProbe: (k) => (probes.push(k), grant) }));
        const order = d.order;
        assert.equal(new Set(order).size, order.length, 'no repeats');
        for (const i of order) assert.ok(servable & (1 << i), 'only servable targets');
        assert.equal(new Set(probes).size, probes.length, 'a probe asked at most once per target');
        const e = d.explain();
        assert.equal(e.candidates.length + e.skipped.length, n, 'every target explained once');
        const good = e.candidates.filter((c) => c.fallback === undefined).map((c) => c.index);
        if (good.length > 0) assert.deepEqual([...order].sort(), good.sort(), 'healthy targets that meet the constraints, only them');
        if (order.length === 0) {
          assert.ok(d.refusal);
          assert.equal(d.refusal.reason === 'capability', servable === 0);
        } else {
          assert.equal(d.refusal, undefined);
          assert.deepEqual(planFor(targets.map((t) => ({ provider: { cluster: t.key } })), order).targets, order);
          if (r.constraints.onUnmet === 'refuse') assert.deepEqual(d.unmet, []);
        }
      },
    ),
    { numRuns: 500 },
  );
});
