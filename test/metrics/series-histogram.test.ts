import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { SeriesHistogram } from '../../src/metrics/series-histogram.ts';

describe('SeriesHistogram (series-histogram.ts)', () => {
  test("exports exactly what prom-client's Histogram exports for the same observations", async () => {
    const buckets = [0.01, 0.1, 1, 10];
    const ours = new Registry();
    const theirs = new Registry();
    const h = new SeriesHistogram('x_seconds', 'help text', buckets, ours);
    const p = new Histogram({ name: 'x_seconds', help: 'help text', labelNames: ['model', 'provider'], buckets, registers: [theirs] });
    const values: Array<[string, string, number]> = [['a', 'p1', 0.005], ['a', 'p1', 0.01], ['a', 'p1', 0.5], ['b', 'p2', 12], ['a', 'p1', 10], ['b', 'p2', 0.1]];
    for (const [model, provider, v] of values) {
      h.series(`${model}/${provider}`, { model, provider }).observe(v);
      p.observe({ model, provider }, v);
    }
    assert.equal(await ours.metrics(), await theirs.metrics());
  });

  test('one series per key; non-finite values are dropped; buckets must increase', () => {
    const h = new SeriesHistogram('y', 'h', [1, 2], new Registry());
    const s = h.series('k', { a: '1' });
    assert.equal(h.series('k', { a: 'ignored' }), s);
    s.observe(Number.NaN);
    s.observe(Number.POSITIVE_INFINITY);
    s.observe(1.5);
    assert.equal(s.count, 1);
    assert.deepEqual([...s.counts], [0, 1, 0]);
    assert.throws(() => new SeriesHistogram('z', 'h', [2, 1], new Registry()), RangeError);
  });
});
