import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { EmbeddedStateStore } from '../../src/state/embedded/store.ts';
import type { SpendReservation } from '../../src/state/store.ts';
import { SETTLED_MEMORY_MS } from '../../src/state/validate.ts';

/**
 * The settled markers (spend-ledger.ts): a second settle adds nothing, for SETTLED_MEMORY_MS
 * after the settlement (also one settled after its reservation expired), across a restart, and
 * for a file written before the markers were keyed by expiry.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'llmx-state-markers-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const budget = { subject: 'team:t', period: '2026-11', limit: null };
const HOUR = 3_600_000;

async function reserve(store: EmbeddedStateStore, id: string, ttlMs = 60_000): Promise<SpendReservation> {
  const r = await store.reserveSpend(id, 't', [budget], 10, ttlMs);
  assert.ok(r.granted);
  return r.reservation;
}

/** 1,000 settlements of other requests: the markers are pruned once per 1,000. */
async function churn(store: EmbeddedStateStore, tag: string): Promise<void> {
  const waits: Array<Promise<boolean>> = [];
  for (let i = 0; i < 1000; i++) waits.push(store.settleSpend(await reserve(store, `${tag}-${i}`), 0));
  await Promise.all(waits);
}

describe('embedded: settled markers', () => {
  it('a settlement made after its reservation expired is remembered for 24 h from the settlement, then forgotten', async () => {
    let now = 1_764_500_000_000;
    const store = new EmbeddedStateStore({ sqlitePath: path.join(dir, 'late.sqlite'), now: () => now, settleCommitMs: 0 });
    const late = await reserve(store, 'late', 1_000);
    now += 2 * HOUR; // long past its expiresAt
    assert.equal(await store.settleSpend(late, 500), true);
    now += SETTLED_MEMORY_MS - HOUR; // expiresAt is > 24 h old, the settlement is not
    await churn(store, 'a');
    assert.equal(await store.settleSpend(late, 500), false, 'still remembered 23 h after its settlement');
    now += 2 * HOUR;
    await churn(store, 'b');
    assert.equal(await store.settleSpend(late, 500), true, 'forgotten 25 h after its settlement');
    assert.equal(await store.spent('t', budget.subject, budget.period), 1000);
    await store.close();
  });

  it('a reservation with a non-integer expiresAt is a RangeError, not a failed commit for the whole batch', async () => {
    const store = new EmbeddedStateStore({ sqlitePath: ':memory:' });
    const ok = await reserve(store, 'ok');
    await assert.rejects(store.settleSpend({ ...ok, requestId: 'bad', expiresAt: Number.NaN }, 5), RangeError);
    assert.equal(await store.settleSpend(ok, 5), true);
    await store.close();
  });

  it('a file from before the expiry-keyed markers: its markers still count, and the table goes once they age out', async () => {
    const file = path.join(dir, 'legacy.sqlite');
    let now = 1_764_500_000_000;
    {
      // The schema as it was: markers keyed by `partition \0 request id`.
      const db = new Database(file);
      db.exec(`
        CREATE TABLE spend (partition TEXT NOT NULL, subject TEXT NOT NULL, period TEXT NOT NULL, nano_usd INTEGER NOT NULL, PRIMARY KEY (partition, subject, period)) WITHOUT ROWID;
        CREATE TABLE spend_settled (request_id TEXT PRIMARY KEY, settled_at INTEGER NOT NULL) WITHOUT ROWID;
        CREATE INDEX spend_settled_at ON spend_settled (settled_at);
        INSERT INTO spend VALUES ('t', 'team:t', '2026-11', 700);
        INSERT INTO spend_settled VALUES ('t' || char(0) || 'old', ${now});
      `);
      db.close();
    }
    const store = new EmbeddedStateStore({ sqlitePath: file, now: () => now, settleCommitMs: 0 });
    const old: SpendReservation = { requestId: 'old', partition: 't', charges: [{ subject: budget.subject, period: budget.period }], amount: 700, expiresAt: now + 60_000 };
    assert.equal(await store.settleSpend(old, 700), false, 'settled before the upgrade: not again');
    assert.equal(await store.spent('t', budget.subject, budget.period), 700);
    now += SETTLED_MEMORY_MS + HOUR;
    await churn(store, 'c');
    await store.close();
    const db = new Database(file, { readonly: true });
    assert.deepEqual(db.prepare("SELECT name FROM sqlite_master WHERE name LIKE 'spend_settled%' ORDER BY name").all(), [{ name: 'spend_settled_by_expiry' }]);
    db.close();
  });
});
