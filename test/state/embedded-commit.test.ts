import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { EmbeddedStateStore } from '../../src/state/embedded/store.ts';
import type { SpendReservation } from '../../src/state/store.ts';

/**
 * The settlement commit interval (EmbeddedStoreOptions.settleCommitMs): what it may and may not
 * change. A settlement counts at once, whatever the interval; close() commits what waits; a full
 * batch commits without waiting for the interval. No test here waits for the interval itself.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'llmx-state-commit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const LONG = 3_600_000; // an interval no test reaches: only close() or a full batch commits
const budget = { subject: 'team:t', period: '2026-11', limit: 10_000_000_000 };

async function reserve(store: EmbeddedStateStore, id: string, estimate: number): Promise<SpendReservation> {
  const r = await store.reserveSpend(id, 't', [budget], estimate, 60_000);
  assert.ok(r.granted);
  return r.reservation;
}

describe('embedded: settlements share a commit', () => {
  it('a settlement counts at once, before its commit: the next reservation sees its actual cost', async () => {
    const store = new EmbeddedStateStore({ sqlitePath: ':memory:', settleCommitMs: LONG });
    const tight = { ...budget, limit: 1_000 };
    const a = await store.reserveSpend('a', 't', [tight], 900, 60_000);
    assert.ok(a.granted);
    const committed = store.settleSpend(a.reservation, 300); // not awaited: waits for the interval
    const b = await store.reserveSpend('b', 't', [tight], 700, 60_000);
    assert.ok(b.granted, 'the 900 reserved became 300 at once, so 700 more fit under 1,000');
    assert.equal((await store.reserveSpend('c', 't', [tight], 1, 60_000)).granted, false);
    await store.close();
    assert.equal(await committed, true);
  });

  it('close() commits the settlements still waiting: nothing settled is lost on a clean stop', async () => {
    const file = path.join(dir, 'close.sqlite');
    const store = new EmbeddedStateStore({ sqlitePath: file, settleCommitMs: LONG });
    const waits = [];
    for (let i = 0; i < 5; i++) waits.push(store.settleSpend(await reserve(store, `r${i}`, 1_000), 250 + i));
    await store.close();
    assert.deepEqual(await Promise.all(waits), [true, true, true, true, true]);
    const reopened = new EmbeddedStateStore({ sqlitePath: file });
    assert.equal(await reopened.spent('t', budget.subject, budget.period), 250 + 251 + 252 + 253 + 254);
    await reopened.close();
  });

  it('a full batch (1,024 settlements) commits without waiting for the interval', async () => {
    const file = path.join(dir, 'batch.sqlite');
    const store = new EmbeddedStateStore({ sqlitePath: file, settleCommitMs: LONG });
    const reservations = [];
    for (let i = 0; i < 1024; i++) reservations.push(await reserve(store, `b${i}`, 10));
    const settled = await Promise.all(reservations.map((r) => store.settleSpend(r, 7)));
    assert.equal(settled.filter(Boolean).length, 1024);
    // Committed before close: another connection to the file sees it.
    const other = new EmbeddedStateStore({ sqlitePath: file });
    assert.equal(await other.spent('t', budget.subject, budget.period), 1024 * 7);
    await other.close();
    await store.close();
  });

  it('settling twice counts once, also when both wait for the same commit', async () => {
    const store = new EmbeddedStateStore({ sqlitePath: ':memory:', settleCommitMs: LONG });
    const r = await reserve(store, 'twice', 1_000);
    const first = store.settleSpend(r, 400);
    const second = store.settleSpend(r, 400);
    await store.close();
    assert.deepEqual([await first, await second], [true, false]);
  });
});
