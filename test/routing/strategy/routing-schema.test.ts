import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../../../src/config/errors.ts';
import { compileRouting } from '../../../src/routing/strategy/compile.ts';
import { routingSchema } from '../../../src/routing/strategy/routing-schema.ts';

function problem(input: unknown): { path: string; message: string } {
  const r = routingSchema.safeParse(input);
  assert.equal(r.success, false, JSON.stringify(input));
  const issue = r.error!.issues[0]!;
  return { path: issue.path.join('.'), message: issue.message };
}

const compile = (routing: unknown, keys = ['a/m', 'b/m']) => compileRouting(routingSchema.parse(routing), keys, 'gateway.yaml', 'models.m.routing');

describe('routing: schema', () => {
  test('defaults: priority, tolerance 0.2, no constraints, best-available', () => {
    assert.deepEqual(compile({}), { strategy: 'priority', weights: [1, 1], tolerance: 0.2, latencySlaMs: undefined, maxPriceUsd: undefined, onUnmet: 'best-available' });
  });
  test('every field', () => {
    const ok = [
      { strategy: 'weighted', weights: [3, 1] },
      { strategy: 'weighted', weights: { 'openai/gpt-4o': 2 } },
      { strategy: 'latency', tolerance: 0, constraints: { latencySlaMs: 2000, onUnmet: 'refuse' } },
      { strategy: 'cost', constraints: { maxPriceUsd: 0.05 } },
    ];
    for (const r of ok) assert.equal(routingSchema.safeParse(r).success, true, JSON.stringify(r));
  });
  test('precise messages for bad values', () => {
    assert.deepEqual(problem({ strategy: 'fastest' }), { path: 'strategy', message: 'unknown strategy "fastest" (expected: priority, weighted, latency, cost)' });
    assert.deepEqual(problem({ strategy: 'latency', weights: [1, 2] }), { path: 'weights', message: 'weights apply to strategy: weighted only (this model\'s strategy is latency)' });
    assert.deepEqual(problem({ tolerance: 0.1 }), { path: 'tolerance', message: 'tolerance applies to strategy: latency only (this model\'s strategy is priority)' });
    assert.deepEqual(problem({ strategy: 'latency', tolerance: -0.1 }), { path: 'tolerance', message: 'tolerance is a share ≥ 0 (0.2 = 20 %)' });
    assert.deepEqual(problem({ strategy: 'weighted', weights: [1, -1] }), { path: 'weights.1', message: 'a weight is a number ≥ 0' });
    assert.equal(problem({ strategy: 'weighted', weights: 'even' }).message, 'weights is a list of numbers (one per target) or a map "provider/model": number');
    assert.deepEqual(problem({ constraints: { latencySlaMs: 1.5 } }), { path: 'constraints.latencySlaMs', message: 'latencySlaMs is whole milliseconds' });
    assert.deepEqual(problem({ constraints: { maxPriceUsd: 0 } }), { path: 'constraints.maxPriceUsd', message: 'maxPriceUsd is a price in USD above 0' });
    assert.deepEqual(problem({ constraints: { onUnmet: 'fail' } }), { path: 'constraints.onUnmet', message: 'onUnmet is best-available or refuse, not "fail"' });
    assert.match(problem({ constraints: { slaMs: 1 } }).message, /unknown key\(s\) "slaMs" \(expected: latencySlaMs, maxPriceUsd, onUnmet\)/);
    assert.match(problem({ stratgy: 'cost' }).message, /unknown key\(s\) "stratgy"/);
  });
});

describe('routing: checked against the model\'s targets', () => {
  test('weights per index or per provider/model; unlisted targets weigh 1', () => {
    assert.deepEqual(compile({ strategy: 'weighted', weights: [3, 0] }).weights, [3, 0]);
    assert.deepEqual(compile({ strategy: 'weighted', weights: { 'b/m': 4 } }).weights, [1, 4]);
  });
  test('errors name the path and what to change', () => {
    const bad = (routing: unknown, re: RegExp) => assert.throws(() => compile(routing), (e: unknown) => e instanceof ConfigError && re.test(e.message));
    bad({ strategy: 'weighted', weights: [1, 2, 3] }, /models\.m\.routing\.weights: 3 weight\(s\) for 2 target\(s\): give one per target/);
    bad({ strategy: 'weighted', weights: { 'c/m': 1 } }, /models\.m\.routing\.weights\.c\/m: not a target of this model \(its targets: a\/m, b\/m\)/);
    bad({ strategy: 'weighted', weights: [0, 0] }, /at least one weight must be above 0/);
  });
});
