import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { EmbeddedStateStore } from '../../src/state/embedded/store.ts';
import { createStateStore } from '../../src/state/index.ts';
import { StateUnavailableError, type StateStore } from '../../src/state/store.ts';
import { stateContract } from './contract.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'llmx-state-'));
const file = path.join(dir, 'state.sqlite');
after(() => rmSync(dir, { recursive: true, force: true }));

stateContract('embedded', {
  open: async () => new EmbeddedStateStore({ sqlitePath: file }),
  // One process: both "replicas" are the same store, called concurrently.
  replicas: async () => {
    const s = new EmbeddedStateStore({ sqlitePath: ':memory:' });
    const shared: StateStore = Object.assign(Object.create(s) as StateStore, { close: async () => undefined });
    return [s, shared];
  },
  reopen: async (store) => {
    await store.close();
    return new EmbeddedStateStore({ sqlitePath: file });
  },
});

describe('embedded backend only', () => {
  it('with a driven clock: never more than the limit in any window, refusals at most W/N early', async () => {
    const start = 1_200_000; // a multiple of the 6 s sub-window
    let now = start;
    const store = new EmbeddedStateStore({ sqlitePath: ':memory:', subWindows: 10, now: () => now });
    const charge = { counter: 'key:c/rpm', amount: 1, limit: 10, windowMs: 60_000 };
    const grants: number[] = [];
    let n = 0;
    // One attempt every 500 ms for 5 windows.
    for (; now < start + 300_000; now += 500) {
      const r = await store.reserve(`r${n++}`, 'team', [charge]);
      if (r.granted) grants.push(now);
      else assert.ok(r.retryAfterMs !== null && r.retryAfterMs <= 66_000);
    }
    for (const t of grants) assert.ok(grants.filter((g) => g > t - 60_000 && g <= t).length <= 10);
    // The 10 first grants are at 0..4.5 s, in the first sub-window; it is counted until it has
    // wholly left the window, one sub-window (W/N = 6 s) after an exact sliding window would.
    assert.deepEqual(grants.slice(0, 11).map((g) => g - start), [0, 500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 4500, 66_000]);
    assert.ok(grants.length >= 40, `${grants.length}`);
    await store.close();
  });

  it('a clock that goes back (an NTP step) never lets a window admit more: counting starts from the newest sub-window', async () => {
    let now = 3_000_000;
    const store = new EmbeddedStateStore({ sqlitePath: ':memory:', now: () => now });
    const charge = { counter: 'key:c/rpm', amount: 1, limit: 3, windowMs: 60_000 };
    for (const id of ['a', 'b', 'c']) assert.ok((await store.reserve(id, 't', [charge])).granted);
    now -= 90_000; // more than a whole window back
    assert.equal((await store.reserve('d', 't', [charge])).granted, false, 'the three are still counted');
    now += 90_000 + 66_000; // their sub-window has left the window
    assert.ok((await store.reserve('e', 't', [charge])).granted);
    await store.close();
  });

  it('the window and spend calls answer synchronously too (StateStore.sync), with the same results', async () => {
    const store = new EmbeddedStateStore({ sqlitePath: ':memory:' });
    const charge = { counter: 'key:c/rpm', amount: 1, limit: 1, windowMs: 60_000 };
    const r = store.sync.reserve('s1', 't', [charge]);
    assert.ok(r.granted);
    assert.equal((await store.reserve('s2', 't', [charge])).granted, false, 'the sync reservation counts for the async call');
    assert.equal(store.sync.settle(r.reservation, [1]), true);
    assert.equal(store.sync.release(r.reservation), false, 'settled once');
    assert.throws(() => store.sync.reserve('s3', 't', [{ ...charge, amount: -1 }]), RangeError);
    const s = store.sync.reserveSpend('s4', 't', [{ subject: 'team:t', period: '2026-11', limit: 10 }], 10, 60_000);
    assert.ok(s.granted);
    assert.equal(store.sync.reserveSpend('s5', 't', [{ subject: 'team:t', period: '2026-11', limit: 10 }], 1, 60_000).granted, false);
    store.sync.releaseSpend(s.reservation);
    assert.ok((await store.reserveSpend('s6', 't', [{ subject: 'team:t', period: '2026-11', limit: 10 }], 10, 60_000)).granted);
    await store.close();
    assert.throws(() => store.sync.reserve('s7', 't', [charge]), (err: unknown) => err instanceof StateUnavailableError && err.operation === 'reserve');
  });

  it('a retry-after says exactly when the request fits', async () => {
    let now = 2_000_000;
    const store = new EmbeddedStateStore({ sqlitePath: ':memory:', now: () => now });
    const charge = { counter: 'team:t/tpm', amount: 600, limit: 1000, windowMs: 10_000 };
    assert.ok((await store.reserve('a', 't', [charge])).granted);
    now += 3_000;
    const refused = await store.reserve('b', 't', [charge]);
    assert.ok(!refused.granted);
    now += refused.retryAfterMs! - 1;
    assert.equal((await store.reserve('c', 't', [charge])).granted, false);
    now += 1;
    assert.equal((await store.reserve('d', 't', [charge])).granted, true);
    await store.close();
  });

  it('bounds the response cache in bytes, evicting least recently used entries', async () => {
    const store = new EmbeddedStateStore({ sqlitePath: ':memory:', cacheMaxBytes: 10_000 });
    const kb = new Uint8Array(1_000).fill(7);
    for (let i = 0; i < 30; i++) await store.cacheSet(`k${i}`, kb, 60_000);
    assert.ok(store.cacheBytes <= 10_000, `${store.cacheBytes} bytes held`);
    assert.equal(await store.cacheGet('k0'), undefined, 'the oldest went first');
    assert.deepEqual((await store.cacheGet('k29'))?.length, 1_000);
    await store.cacheSet('huge', new Uint8Array(5_000), 60_000);
    assert.equal(await store.cacheGet('huge'), undefined, 'an entry over an eighth of the bound is not stored');
    await store.close();
  });

  it('close() commits settlements still waiting for their transaction', async () => {
    const f = path.join(dir, 'flush.sqlite');
    const store = new EmbeddedStateStore({ sqlitePath: f });
    const r = await store.reserveSpend('req-1', 't', [{ subject: 'team:t', period: '2026-11', limit: null }], 10, 60_000);
    assert.ok(r.granted);
    const settling = store.settleSpend(r.reservation, 9);
    await store.close();
    assert.equal(await settling, true);
    const reopened = new EmbeddedStateStore({ sqlitePath: f });
    assert.equal(await reopened.spent('t', 'team:t', '2026-11'), 9);
    await reopened.close();
  });

  it('createStateStore picks the embedded backend without REDIS_URL', async () => {
    const store = await createStateStore({ sqlitePath: path.join(dir, 'picked.sqlite') }, {});
    assert.equal(store.backend, 'embedded');
    assert.equal(store.isReady(), true);
    await store.close();
  });
});
