import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { RELATIVE_ERROR, bucketOf, bucketValueMs } from '../../../src/routing/health/histogram.ts';
import { KEY, T0, health, json, stream } from './fixture.ts';

/** The nearest-rank p95 of `xs`: the ⌈0.95·n⌉-th smallest. */
function exactP95(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.ceil(0.95 * sorted.length) - 1]!;
}

describe('health window edges (5 min = 30 × 10 s sub-windows)', () => {
  it('a sample leaves the window exactly 5 min after its sub-window began', () => {
    const { h } = health();
    h.record(json(T0, 250, 'error'));
    h.record(json(T0 + 9_999, 250));
    let s = h.get(KEY, T0 + 299_999);
    assert.deepEqual([s.attempts, s.samples, s.errorRate], [2, 1, 0.5]);
    assert.equal(s.p95Ms.json !== undefined, true);
    s = h.get(KEY, T0 + 300_000);
    assert.deepEqual([s.attempts, s.samples, s.errorRate], [0, 0, 0]);
    assert.deepEqual(s.p95Ms, {});
    assert.deepEqual(s.latencyMs, {});
  });

  it('a later sub-window stays while an earlier one leaves', () => {
    const { h } = health();
    h.record(json(T0, 100));
    h.record(json(T0 + 10_000, 100, 'error'));
    const s = h.get(KEY, T0 + 300_000);
    assert.deepEqual([s.attempts, s.errorRate], [1, 1]);
    assert.equal(h.get(KEY, T0 + 310_000).attempts, 0);
  });

  it('an outcome reported late (older than the window) is dropped; a late one inside it counts', () => {
    const { h } = health();
    h.record(json(T0 + 400_000, 100));
    h.record(json(T0, 100, 'error'));
    h.record(json(T0 + 200_000, 100, 'error'));
    assert.equal(h.get(KEY, T0 + 400_001).attempts, 2);
  });

  it('a long silence empties everything at once', () => {
    const { h } = health();
    for (let i = 0; i < 30; i++) h.record(json(T0 + i * 10_000, 100 + i));
    assert.equal(h.get(KEY, T0 + 299_999).attempts, 30);
    assert.equal(h.get(KEY, T0 + 3_600_000).attempts, 0);
    h.record(json(T0 + 3_600_000, 50));
    assert.equal(h.get(KEY, T0 + 3_600_001).samples, 1);
  });
});

describe('latency figures', () => {
  it('p95 is within the stated bound of the exact nearest-rank p95 (random data)', () => {
    assert.ok(RELATIVE_ERROR < 0.045, `bound ${RELATIVE_ERROR}`);
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 1, max: 2 ** 20 - 1, noNaN: true }), { minLength: 1, maxLength: 400 }),
        fc.boolean(),
        (latencies, streamed) => {
          const { h } = health();
          latencies.forEach((ms, i) => h.record(streamed ? stream(T0 + (i % 10_000), ms, ms + 10) : json(T0 + (i % 10_000), ms)));
          const s = h.get(KEY, T0 + 10_000);
          const p95 = streamed ? s.p95Ms.stream : s.p95Ms.json;
          const exact = exactP95(latencies);
          const ratio = p95! / exact;
          return ratio <= 1 + RELATIVE_ERROR + 1e-9 && ratio >= 1 / (1 + RELATIVE_ERROR) - 1e-9;
        },
      ),
      { numRuns: 300, seed: 9 },
    );
  });

  it('p95 across sub-windows merges them', () => {
    const { h } = health();
    // 95 fast samples spread over the window, 5 slow ones in the newest sub-window.
    for (let i = 0; i < 95; i++) h.record(json(T0 + i * 3_000, 100));
    for (let i = 0; i < 5; i++) h.record(json(T0 + 290_000 + i, 5_000));
    const p95 = h.get(KEY, T0 + 299_000).p95Ms.json!;
    assert.ok(Math.abs(p95 / 100 - 1) <= RELATIVE_ERROR, `p95 ${p95}`);
    h.record(json(T0 + 295_000, 5_000));
    const p95b = h.get(KEY, T0 + 299_001).p95Ms.json!;
    assert.ok(Math.abs(p95b / 5_000 - 1) <= RELATIVE_ERROR, `p95 ${p95b}`);
  });

  it('bucket bounds: every latency reads back within the bound', () => {
    for (const ms of [1, 1.5, 2, 100, 999, 10_000, 2 ** 20 - 1]) {
      const r = bucketValueMs(bucketOf(ms)) / ms;
      assert.ok(r <= 1 + RELATIVE_ERROR + 1e-12 && r >= 1 / (1 + RELATIVE_ERROR) - 1e-12, `${ms}: ${r}`);
    }
    assert.equal(bucketOf(0), 0);
    assert.equal(bucketOf(Number.NaN), 0);
    assert.equal(bucketOf(1e12), bucketOf(2 ** 20));
  });

  it('the recent latency decays by time: a sample one half-life (30 s) older weighs half', () => {
    const { h } = health();
    h.record(json(T0, 100));
    h.record(json(T0 + 30_000, 200));
    const s = h.get(KEY, T0 + 30_001);
    assert.ok(Math.abs(s.latencyMs.json! - (0.5 * 100 + 200) / 1.5) < 1e-9, `${s.latencyMs.json}`);
    assert.equal(s.latencyMs.stream, undefined);
    // Without new samples, the mean stays (both age alike) until they leave the window.
    assert.ok(Math.abs(h.get(KEY, T0 + 120_000).latencyMs.json! - (0.5 * 100 + 200) / 1.5) < 1e-9);
  });

  it('kinds are separate: streams by time to first token, others by total time', () => {
    const { h } = health();
    h.record(stream(T0, 300, 9_000));
    h.record(json(T0 + 1, 2_000));
    const s = h.get(KEY, T0 + 2);
    assert.equal(s.latencyMs.stream, 300);
    assert.equal(s.latencyMs.json, 2_000);
    assert.equal(s.samples, 2);
  });

  it('failures and refusals are not latency samples', () => {
    const { h } = health();
    for (const r of ['error', 'timeout', 'reset', 'rate_limited', 'client_error'] as const) h.record(json(T0, 60_000, r));
    const s = h.get(KEY, T0 + 1);
    assert.equal(s.samples, 0);
    assert.deepEqual(s.latencyMs, {});
  });

  it('cachedInputShare: cache reads over prompt tokens of answers in the window', () => {
    const { h } = health();
    assert.equal(h.get(KEY, T0).cachedInputShare, 0);
    h.record(json(T0, 100, 'ok', { promptTokens: 1_000, cachedTokens: 600 }));
    h.record(json(T0 + 1, 100, 'ok', { promptTokens: 1_000 }));
    h.record(json(T0 + 2, 100, 'error', { promptTokens: 5_000, cachedTokens: 5_000 }));
    assert.equal(h.get(KEY, T0 + 3).cachedInputShare, 0.3);
    assert.equal(h.get(KEY, T0 + 300_000).cachedInputShare, 0);
  });
});
