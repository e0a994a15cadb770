import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HoldWatch } from '../../src/exchange/hold-watch.ts';

test('a hold older than the threshold is called once and forgotten; younger and released ones are not', () => {
  const watch = new HoldWatch(2000, 60_000);
  try {
    const calls: string[] = [];
    const old = {};
    const young = {};
    const released = {};
    watch.watch(old, () => calls.push('old'));
    watch.watch(released, () => calls.push('released'));
    watch.unwatch(released);
    const now = Date.now();
    watch.watch(young, () => calls.push('young'));
    watch.sweep(now + 1999);
    assert.deepEqual(calls, []);
    watch.sweep(now + 2500);
    assert.deepEqual(calls.sort(), ['old', 'young']);
    watch.sweep(now + 9000);
    assert.equal(calls.length, 2, 'called once');
    assert.equal(watch.size, 0);
  } finally {
    watch.close();
  }
});
