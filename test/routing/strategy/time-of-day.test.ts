import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolveProviderPricing, resolveTargetPrice } from '../../../src/pricing/resolve.ts';
import { pricingSchema } from '../../../src/pricing/schema.ts';
import { orderTargets } from '../../../src/routing/strategy/order.ts';
import { inputOf, targetsOf } from './support.ts';

/** A gateway.yaml `pricing:` block compiled as config load does (src/pricing/resolve.ts). */
function priced(block: unknown, targetIndex: number) {
  return resolveTargetPrice({
    source: 'gw.yaml',
    modelName: 'm',
    targetIndex,
    providerModel: 'm',
    provider: resolveProviderPricing('gw.yaml', 'p', 'openai', undefined),
    modelPricing: undefined,
    targetPricing: pricingSchema.parse(block),
  });
}

const at = (iso: string) => Date.parse(`2026-12-01T${iso}Z`);

describe('cost strategy at time-of-day window edges (UTC; from inclusive, to exclusive)', () => {
  // a: flat 1 + 1 per M. b: 2 + 2 per M, off-peak 22:00–06:00 at 0.5 + 0.5: cheaper only inside its hours
  const targets = targetsOf(2, [
    priced({ input: 1, output: 1 }, 0),
    priced({ input: 2, output: 2, windows: [{ from: '22:00', to: '06:00', input: 0.5, output: 0.5 }] }, 1),
  ]);
  const order = (iso: string) => orderTargets(inputOf({ targets, routing: { strategy: 'cost' }, nowMs: at(iso) }));
  for (const [iso, expected] of [
    ['21:59:59', [0, 1]],
    ['22:00:00', [1, 0]],
    ['23:59:59', [1, 0]],
    ['00:00:00', [1, 0]],
    ['05:59:59', [1, 0]],
    ['06:00:00', [0, 1]],
  ] as const) {
    test(`${iso}: ${expected[0] === 1 ? 'the off-peak target first' : 'the flat-price target first'}`, () => {
      const d = order(iso);
      assert.deepEqual(d.order, expected);
      // 1,000 prompt + 500 output tokens
      const inside = expected[0] === 1;
      assert.deepEqual(d.explain().candidates.find((c) => c.index === 1)!.score, inside ? 0.00075 : 0.003);
    });
  }
  test('a multiplier window (discount on catalogue or set prices) counts the same way', () => {
    const ts = targetsOf(2, [priced({ input: 1, output: 1 }, 0), priced({ input: 1.5, output: 1.5, windows: [{ from: '22:00', to: '06:00', multiplier: 0.5 }] }, 1)]);
    const o = (iso: string) => orderTargets(inputOf({ targets: ts, routing: { strategy: 'cost' }, nowMs: at(iso) })).order;
    assert.deepEqual([o('21:59:59'), o('22:00:00'), o('05:59:59'), o('06:00:00')], [[0, 1], [1, 0], [1, 0], [0, 1]]);
  });
  test('maxPriceUsd follows the window too', () => {
    const routing = { constraints: { maxPriceUsd: 0.002 } };
    const o = (iso: string) => orderTargets(inputOf({ targets, routing, nowMs: at(iso) })).order;
    assert.deepEqual([o('21:59:59'), o('22:00:00')], [[0], [0, 1]]);
  });
});
