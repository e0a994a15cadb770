import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { prng } from '../../../src/lib/prng.ts';
import { orderTargets } from '../../../src/routing/strategy/order.ts';
import { FakeHealth, flatPrice, inputOf, STREAM_REQ, targetsOf } from './support.ts';

/** How often each target index comes first over `draws` decisions. */
function firstCounts(draws: number, make: (random: () => number) => ReturnType<typeof inputOf>, n: number): number[] {
  const counts = new Array<number>(n).fill(0);
  const random = prng(42);
  const input = make(random);
  for (let k = 0; k < draws; k++) counts[orderTargets(input).order[0]!]!++;
  return counts;
}

describe('priority (the default)', () => {
  test('config order, every call the same shared array', () => {
    const input = inputOf({ targets: targetsOf(4) });
    const d = orderTargets(input);
    assert.deepEqual(d.order, [0, 1, 2, 3]);
    assert.equal(orderTargets(input).order, d.order, 'interned');
    assert.deepEqual(d.explain().candidates.map((c) => c.score), [1, 2, 3, 4], 'score = config position');
  });
  test('the capability mask leaves targets out, and says why', () => {
    const d = orderTargets(inputOf({ targets: targetsOf(4), servable: 0b1010 }));
    assert.deepEqual(d.order, [1, 3]);
    assert.deepEqual(d.explain().skipped.map((s) => [s.index, s.reasons]), [[0, ['capability']], [2, ['capability']]]);
  });
  test('no servable target: a capability refusal', () => {
    const d = orderTargets(inputOf({ targets: targetsOf(2), servable: 0 }));
    assert.deepEqual(d.order, []);
    assert.equal(d.refusal?.reason, 'capability');
  });
});

describe('cost: cheapest first for this request', () => {
  const prices = [flatPrice({ input: 3, output: 15 }), flatPrice({ input: 0.15, output: 0.6 }), flatPrice({ input: 1, output: 1 })];
  test('by prompt + output limit at each target\'s rates', () => {
    const d = orderTargets(inputOf({ targets: targetsOf(3, prices), routing: { strategy: 'cost' } }));
    assert.deepEqual(d.order, [1, 2, 0]);
    // 1,000 prompt + 500 output tokens
    assert.deepEqual(d.explain().candidates.map((c) => c.score), [0.00045, 0.0015, 0.0105]);
  });
  test('the output limit changes who is cheapest', () => {
    // input-heavy vs output-heavy prices: a long prompt favours the cheap-input target
    const ps = [flatPrice({ input: 0.1, output: 10 }), flatPrice({ input: 2, output: 2 })];
    const long = orderTargets(inputOf({ targets: targetsOf(2, ps), routing: { strategy: 'cost' }, request: { stream: false, promptTokens: 100_000, maxOutputTokens: 100 } }));
    const chatty = orderTargets(inputOf({ targets: targetsOf(2, ps), routing: { strategy: 'cost' }, request: { stream: false, promptTokens: 100, maxOutputTokens: 100_000 } }));
    assert.deepEqual([long.order, chatty.order], [[0, 1], [1, 0]]);
  });
  test('cached input at the cache-read rate for the target\'s recent cache share', () => {
    // a: input 3, cache read 0.3; b: input 1.5, no cache price. 10,000 prompt tokens, no output.
    const ps = [flatPrice({ input: 3, cacheRead: 0.3, output: 0 }), flatPrice({ input: 1.5, output: 0 })];
    const request = { stream: false, promptTokens: 10_000, maxOutputTokens: 0 };
    const cold = orderTargets(inputOf({ targets: targetsOf(2, ps), routing: { strategy: 'cost' }, request }));
    assert.deepEqual(cold.order, [1, 0], 'no cache history: a costs 0.03, b 0.015');
    const health = new FakeHealth().set('a/m', { cachedInputShare: 0.9 }).set('b/m', { cachedInputShare: 0.9 });
    const warm = orderTargets(inputOf({ targets: targetsOf(2, ps), routing: { strategy: 'cost' }, request, health }));
    // a: 1,000 × 3 + 9,000 × 0.3 = 5,700 per M → 0.0057; b has no cache-read price: 0.015
    assert.deepEqual(warm.order, [0, 1]);
    assert.deepEqual(warm.explain().candidates.map((c) => c.score), [0.0057, 0.015]);
  });
  test('ties keep config order; free targets come first', () => {
    const same = flatPrice({ input: 1, output: 1 });
    assert.deepEqual(orderTargets(inputOf({ targets: targetsOf(3, [same, same, same]), routing: { strategy: 'cost' } })).order, [0, 1, 2]);
    const free = { ...same, free: true };
    assert.deepEqual(orderTargets(inputOf({ targets: targetsOf(3, [same, same, free]), routing: { strategy: 'cost' } })).order, [2, 0, 1]);
  });
});

describe('weighted: drawn by weight per request', () => {
  test('first-attempt shares match the weights (3:1:0 → 75 %, 25 %, never)', () => {
    const draws = 4000;
    const counts = firstCounts(draws, (random) => inputOf({ targets: targetsOf(3), routing: { strategy: 'weighted', weights: [3, 1, 0] }, random }), 3);
    assert.equal(counts[2], 0, 'weight 0 is a fallback only');
    // binomial sd for p = 0.75, n = 4,000: ≈ 27; allow 4 sd
    assert.ok(Math.abs(counts[0]! - 3000) < 110, `target 0 first ${counts[0]} of ${draws}`);
  });
  test('without replacement: every target once, weight 0 last', () => {
    const random = prng(7);
    const input = inputOf({ targets: targetsOf(4), routing: { strategy: 'weighted', weights: { 'b/m': 5, 'd/m': 0 } }, random });
    const seconds = [0, 0, 0, 0];
    for (let k = 0; k < 3000; k++) {
      const o = orderTargets(input).order;
      assert.deepEqual([...o].sort(), [0, 1, 2, 3]);
      assert.equal(o[3], 3, 'd (weight 0) last');
      seconds[o[1]!]!++;
    }
    // weights a 1, b 5, c 1 (unlisted weigh 1). Second slot: P(a) = P(b first)·1/2 + P(c first)·1/6 = 5/7·1/2 + 1/7·1/6
    const pA = (5 / 7) * (1 / 2) + (1 / 7) * (1 / 6);
    assert.ok(Math.abs(seconds[0]! / 3000 - pA) < 0.04, `a second ${seconds[0]} of 3000, expected ≈ ${Math.round(pA * 3000)}`);
  });
});

describe('latency: fastest first, near-equals share', () => {
  const health = () => new FakeHealth().set('a/m', { latencyMs: { stream: 400, json: 3000 } }).set('b/m', { latencyMs: { stream: 200, json: 900 } }).set('c/m', { latencyMs: { stream: 1000, json: 800 } });
  test('by TTFT for streams and total time otherwise (tolerance 0)', () => {
    const routing = { strategy: 'latency', tolerance: 0 };
    assert.deepEqual(orderTargets(inputOf({ targets: targetsOf(3), routing, health: health(), request: STREAM_REQ })).order, [1, 0, 2]);
    const d = orderTargets(inputOf({ targets: targetsOf(3), routing, health: health() }));
    assert.deepEqual(d.order, [2, 1, 0]);
    assert.deepEqual(d.explain().candidates.map((c) => c.score), [800, 900, 3000]);
  });
  test('tolerance band: over 2,000 draws each near-equal target is first about as often; one outside the band never', () => {
    // best 200; band ≤ 240 (20 %): a 200, b 230, c 239; d 241 is outside
    const h = new FakeHealth().set('a/m', { latencyMs: { json: 200 } }).set('b/m', { latencyMs: { json: 230 } }).set('c/m', { latencyMs: { json: 239 } }).set('d/m', { latencyMs: { json: 241 } });
    const counts = firstCounts(2000, (random) => inputOf({ targets: targetsOf(4), routing: { strategy: 'latency' }, health: h, random }), 4);
    assert.equal(counts[3], 0, 'outside the band');
    // fair share 666.7, binomial sd ≈ 21; allow 4 sd
    for (const c of counts.slice(0, 3)) assert.ok(Math.abs(c - 2000 / 3) < 85, `first counts ${counts}`);
  });
  test('the band draws the whole band; slower targets keep their order after it', () => {
    const h = new FakeHealth().set('a/m', { latencyMs: { json: 500 } }).set('b/m', { latencyMs: { json: 100 } }).set('c/m', { latencyMs: { json: 300 } }).set('d/m', { latencyMs: { json: 110 } });
    const random = prng(3);
    const seen = new Set<string>();
    for (let k = 0; k < 200; k++) {
      const o = orderTargets(inputOf({ targets: targetsOf(4), routing: { strategy: 'latency' }, health: h, random })).order;
      assert.deepEqual(o.slice(2), [2, 0]);
      seen.add(o.slice(0, 2).join());
    }
    assert.deepEqual([...seen].sort(), ['1,3', '3,1']);
  });
  test('targets without samples share the band, so real traffic measures them; slower measured ones come after', () => {
    const h = new FakeHealth().set('b/m', { latencyMs: { json: 5000 } }).set('d/m', { latencyMs: { json: 100 } });
    const counts = firstCounts(2000, (random) => inputOf({ targets: targetsOf(4), routing: { strategy: 'latency' }, health: h, random }), 4);
    // Band: d (100 ms) and the unmeasured a and c, a third each; b (5,000 ms) never first.
    for (const i of [0, 2, 3]) assert.ok(Math.abs(counts[i]! - 2000 / 3) < 85, `first counts ${counts}`);
    assert.equal(counts[1], 0);
    const one = orderTargets(inputOf({ targets: targetsOf(4), routing: { strategy: 'latency' }, health: h }));
    assert.equal(one.order[3], 1, 'the slower measured target is last');
    // Nothing measured: every target shares the load until measured.
    const cold = firstCounts(1500, (random) => inputOf({ targets: targetsOf(3), routing: { strategy: 'latency' }, random }), 3);
    for (const c of cold) assert.ok(Math.abs(c - 500) < 75, `cold first counts ${cold}`);
    const d = orderTargets(inputOf({ targets: targetsOf(3), routing: { strategy: 'latency' } }));
    assert.deepEqual(d.explain().candidates.map((c) => c.score), [undefined, undefined, undefined]);
  });
});
