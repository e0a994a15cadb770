import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpendRecorder, type SpendEntry } from '../../src/observability/spend-recorder.ts';
import { StateUnavailableError } from '../../src/state/errors.ts';
import type { SpendBucket, SpendHistoryStore } from '../../src/state/spend-history.ts';

const HOUR = 3_600_000;
const T0 = 1_780_000 * HOUR;
const entry = (over: Partial<SpendEntry> = {}): SpendEntry => ({ team: 'a', provider: 'p', model: 'm', tokensIn: 10, tokensOut: 5, tokensCached: 2, nanoUsd: 1_000, at: T0 + 60_000, ...over });

/** A store that records each batch, and fails while `down`. */
function fakeStore(): SpendHistoryStore & { batches: SpendBucket[][]; down: boolean } {
  const s = {
    batches: [] as SpendBucket[][],
    down: false,
    async addSpendHistory(buckets: readonly SpendBucket[]) {
      if (s.down) throw new StateUnavailableError('redis', 'addSpendHistory', new Error('down'));
      s.batches.push(buckets.map((b) => ({ ...b })));
    },
    async readSpendHistory() {
      return [];
    },
  };
  return s;
}

describe('SpendRecorder', () => {
  it('sums requests into one bucket per hour, team, provider and model, written as one batch', async () => {
    const store = fakeStore();
    const r = new SpendRecorder({ store, keepMs: () => 35 * 24 * HOUR, log: { warn: () => undefined }, flushMs: 60_000 });
    for (let i = 0; i < 100; i++) r.record(entry());
    r.record(entry({ provider: 'q' }));
    r.record(entry({ at: T0 + HOUR + 1 }));
    assert.equal(store.batches.length, 0, 'nothing written on the request path');
    await r.close();
    assert.equal(store.batches.length, 1);
    assert.deepEqual(store.batches[0], [
      { hour: T0, team: 'a', provider: 'p', model: 'm', requests: 100, tokensIn: 1000, tokensOut: 500, tokensCached: 200, nanoUsd: 100_000 },
      { hour: T0, team: 'a', provider: 'q', model: 'm', requests: 1, tokensIn: 10, tokensOut: 5, tokensCached: 2, nanoUsd: 1_000 },
      { hour: T0 + HOUR, team: 'a', provider: 'p', model: 'm', requests: 1, tokensIn: 10, tokensOut: 5, tokensCached: 2, nanoUsd: 1_000 },
    ]);
  });

  it('a failed write keeps the amounts for the next one, added to what came since; one warning', async () => {
    const store = fakeStore();
    const warnings: object[] = [];
    const r = new SpendRecorder({ store, keepMs: () => HOUR, log: { warn: (f: object) => void warnings.push(f) }, flushMs: 60_000 });
    r.record(entry());
    store.down = true;
    await r.flush();
    r.record(entry());
    await r.flush();
    store.down = false;
    r.record(entry({ nanoUsd: 1 }));
    await r.close();
    assert.equal(store.batches.length, 1);
    assert.deepEqual(store.batches[0]!.map((b) => [b.requests, b.nanoUsd]), [[3, 2_001]]);
    assert.equal(warnings.length, 1, 'throttled: one line per 10 s');
  });

  it('holds at most maxPending buckets while the store is down', async () => {
    const store = fakeStore();
    store.down = true;
    const r = new SpendRecorder({ store, keepMs: () => HOUR, log: { warn: () => undefined }, flushMs: 60_000, maxPending: 2 });
    for (const team of ['a', 'b', 'c']) r.record(entry({ team }));
    await r.flush();
    store.down = false;
    await r.close();
    assert.deepEqual(store.batches[0]!.map((b) => b.team), ['a', 'b']);
  });

  it('writes every flushMs by itself once something was recorded', async () => {
    const store = fakeStore();
    const r = new SpendRecorder({ store, keepMs: () => HOUR, log: { warn: () => undefined }, flushMs: 20 });
    r.record(entry());
    const deadline = Date.now() + 2000;
    while (store.batches.length === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
    assert.equal(store.batches.length, 1);
    await r.close();
  });
});
