import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { StateUnavailableError, type SpendBucket, type StateStore, type WindowCharge } from '../../src/state/store.ts';

/**
 * How a backend is opened for the contract. Every test uses its own partition (team) and ids,
 * so the tests share one store without seeing each other's counters.
 */
export interface Backend {
  /** A store for the suite; closed by the suite. */
  open(): Promise<StateStore>;
  /** Two stores over the same state, as two gateway replicas would have (Redis: two clients). */
  replicas(): Promise<[StateStore, StateStore]>;
  /** Closes `store` and opens a new one over the same durable state (SQLite file / Redis server). */
  reopen(store: StateStore): Promise<StateStore>;
}

const SECOND = 1000;
const uid = (): string => randomUUID().slice(0, 8);
const ids = (n: number): string[] => Array.from({ length: n }, () => `req-${randomUUID()}`);
/** `fn` over every item, 250 at a time (many in flight, not thousands of sockets' worth at once). */
async function inChunks<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += 250) out.push(...(await Promise.all(items.slice(i, i + 250).map(fn))));
  return out;
}

/** The contract every StateStore backend passes (test/state/embedded.test.ts, redis.test.ts). */
export function stateContract(name: string, backend: Backend): void {
  describe(`StateStore contract: ${name}`, () => {
    let store: StateStore;
    before(async () => {
      store = await backend.open();
    });
    after(async () => {
      await store.close();
    });

    describe('rate-limit windows', () => {
      it('grants within the limit with remaining and reset per charge, refuses beyond it with retry-after', async () => {
        const team = `t-${uid()}`;
        const rpm: WindowCharge = { counter: 'key:k1/rpm', amount: 1, limit: 3, windowMs: 60 * SECOND };
        const remaining: number[] = [];
        for (const id of ids(3)) {
          const r = await store.reserve(id, team, [rpm]);
          assert.equal(r.granted, true);
          if (r.granted) {
            remaining.push(r.charges[0]!.remaining);
            assert.equal(r.charges[0]!.limit, 3);
            // Everything counted now leaves within one window plus one sub-window (6 s).
            assert.ok(r.charges[0]!.resetMs > 0 && r.charges[0]!.resetMs <= 66 * SECOND, `resetMs ${r.charges[0]!.resetMs}`);
          }
        }
        assert.deepEqual(remaining, [2, 1, 0]);
        const refused = await store.reserve(`req-${uid()}`, team, [rpm]);
        assert.equal(refused.granted, false);
        if (!refused.granted) {
          assert.equal(refused.counter, 'key:k1/rpm');
          assert.equal(refused.used, 3);
          assert.ok(refused.retryAfterMs !== null && refused.retryAfterMs > 0 && refused.retryAfterMs <= 66 * SECOND);
        }
        const tooBig = await store.reserve(`req-${uid()}`, team, [{ ...rpm, counter: 'key:k1/tpm', amount: 11, limit: 10 }]);
        assert.equal(tooBig.granted, false);
        if (!tooBig.granted) assert.equal(tooBig.retryAfterMs, null, 'an amount above the limit never fits');
      });

      it('a burst right after a window boundary gets nothing more than the limit', async () => {
        const team = `t-${uid()}`;
        const charge: WindowCharge = { counter: 'key:b/rpm', amount: 1, limit: 10, windowMs: SECOND };
        // 30 ms before a window-aligned boundary: a fixed window would reset there.
        let boundary = Math.ceil(Date.now() / SECOND) * SECOND;
        if (boundary - Date.now() < 60) boundary += SECOND;
        await sleep(boundary - Date.now() - 30);
        const first = await Promise.all(ids(10).map((id) => store.reserve(id, team, [charge])));
        await sleep(Math.max(0, boundary - Date.now()) + 10);
        const second = await Promise.all(ids(10).map((id) => store.reserve(id, team, [charge])));
        assert.equal(first.filter((r) => r.granted).length, 10);
        assert.equal(second.filter((r) => r.granted).length, 0);
      });

      it('no window of its length ever holds more than the limit, and the window slides', async () => {
        const team = `t-${uid()}`;
        const charge: WindowCharge = { counter: 'team:slide/rpm', amount: 1, limit: 10, windowMs: SECOND };
        const grants: number[] = [];
        const end = Date.now() + 2.6 * SECOND;
        while (Date.now() < end) {
          const r = await store.reserve(`req-${uid()}`, team, [charge]);
          if (r.granted) grants.push(r.at);
          await sleep(3);
        }
        // The store's own clock (Redis TIME for Redis) stamps each grant.
        for (const t of grants) {
          const inWindow = grants.filter((g) => g > t - SECOND && g <= t).length;
          assert.ok(inWindow <= 10, `${inWindow} grants in the window ending at ${t}`);
        }
        assert.ok(grants.length >= 20, `only ${grants.length} grants in 2.6 windows: the window does not slide`);
      });

      it('is all-or-nothing: a refusal on one charge leaves the others untouched', async () => {
        const team = `t-${uid()}`;
        const key: WindowCharge = { counter: 'key:a/rpm', amount: 1, limit: 5, windowMs: 60 * SECOND };
        const teamTpm: WindowCharge = { counter: `team:${team}/tpm`, amount: 10, limit: 100, windowMs: 60 * SECOND };
        const fill = await store.reserve(`req-${uid()}`, team, [{ ...key, amount: 5 }]);
        assert.equal(fill.granted, true);
        const refused = await store.reserve(`req-${uid()}`, team, [teamTpm, key]);
        assert.equal(refused.granted, false);
        if (!refused.granted) assert.equal(refused.refusedIndex, 1);
        // The team's tokens were not taken: all 100 are still there.
        const whole = await store.reserve(`req-${uid()}`, team, [{ ...teamTpm, amount: 100 }]);
        assert.equal(whole.granted, true);
      });

      it('settles streamed usage in both directions, keeps overspend, and settles once', async () => {
        const team = `t-${uid()}`;
        const tpm: WindowCharge = { counter: 'key:s/tpm', amount: 100, limit: 1000, windowMs: 60 * SECOND };
        const a = await store.reserve(`req-${uid()}`, team, [tpm]);
        assert.ok(a.granted);
        assert.equal(await store.settle(a.reservation, [300]), true); // +200: the answer ran longer
        assert.equal(await store.settle(a.reservation, [900]), false, 'a second settle is ignored');
        const b = await store.reserve(`req-${uid()}`, team, [{ ...tpm, amount: 500 }]);
        assert.ok(b.granted);
        assert.equal(b.charges[0]!.remaining, 1000 - 300 - 500);
        assert.equal(await store.settle(b.reservation, [50]), true); // −450: the answer was short
        const c = await store.reserve(`req-${uid()}`, team, [{ ...tpm, amount: 10 }]);
        assert.ok(c.granted);
        assert.equal(c.charges[0]!.remaining, 1000 - 300 - 50 - 10);
        // Overspend beyond the limit is counted, not clamped: the next request waits for it.
        assert.equal(await store.settle(c.reservation, [2000]), true);
        const d = await store.reserve(`req-${uid()}`, team, [{ ...tpm, amount: 1 }]);
        assert.equal(d.granted, false);
        if (!d.granted) assert.equal(d.used, 300 + 50 + 2000);
      });

      it('release gives everything back, once', async () => {
        const team = `t-${uid()}`;
        const charges: WindowCharge[] = [
          { counter: 'key:r/rpm', amount: 1, limit: 1, windowMs: 60 * SECOND },
          { counter: 'key:r/tpm', amount: 700, limit: 1000, windowMs: 60 * SECOND },
        ];
        const a = await store.reserve(`req-${uid()}`, team, charges);
        assert.ok(a.granted);
        assert.equal((await store.reserve(`req-${uid()}`, team, charges)).granted, false);
        assert.equal(await store.release(a.reservation), true);
        assert.equal(await store.release(a.reservation), false);
        const b = await store.reserve(`req-${uid()}`, team, charges);
        assert.ok(b.granted);
        assert.deepEqual(b.charges.map((c) => c.remaining), [0, 300]);
      });

      it('200 concurrent reserves against a limit of 50 grant exactly 50, across two replicas', async () => {
        const [r1, r2] = await backend.replicas();
        try {
          const team = `t-${uid()}`;
          const charge: WindowCharge = { counter: 'key:burst/rpm', amount: 1, limit: 50, windowMs: 60 * SECOND };
          const results = await Promise.all(ids(200).map((id, i) => (i % 2 ? r1 : r2).reserve(id, team, [charge])));
          assert.equal(results.filter((r) => r.granted).length, 50);
          const remaining = results.flatMap((r) => (r.granted ? [r.charges[0]!.remaining] : [])).sort((x, y) => x - y);
          assert.deepEqual(remaining, Array.from({ length: 50 }, (_, i) => i), 'each grant saw a distinct count');
        } finally {
          await Promise.all([r1.close(), r2.close()]);
        }
      });

      it('refuses a second reservation under an active request id, and bad arguments, before touching state', async () => {
        const team = `t-${uid()}`;
        const charge: WindowCharge = { counter: 'key:d/rpm', amount: 1, limit: 5, windowMs: 60 * SECOND };
        const id = `req-${uid()}`;
        assert.ok((await store.reserve(id, team, [charge])).granted);
        await assert.rejects(store.reserve(id, team, [charge]), RangeError);
        await assert.rejects(store.reserve(`req-${uid()}`, team, [{ ...charge, amount: -1 }]), RangeError);
        await assert.rejects(store.reserve(`req-${uid()}`, team, [{ ...charge, amount: 1.5 }]), RangeError);
        await assert.rejects(store.reserve(`req-${uid()}`, team, []), RangeError);
        const r = await store.reserve(`req-${uid()}`, team, [charge]);
        assert.ok(r.granted);
        assert.equal(r.charges[0]!.remaining, 3);
      });
    });

    describe('budget ledger', () => {
      const month = '2026-11';

      it('reserves against spent + in-flight, all-or-nothing over every budget', async () => {
        const team = `t-${uid()}`;
        const teamBudget = { subject: `team:${team}`, period: month, limit: 1000 };
        const keyBudget = { subject: 'key:k', period: month, limit: 500 };
        const a = await store.reserveSpend(`req-${uid()}`, team, [teamBudget, keyBudget], 400, 60 * SECOND);
        assert.ok(a.granted);
        assert.deepEqual(a.charges.map((c) => [c.spent, c.reserved]), [[0, 400], [0, 400]]);
        const b = await store.reserveSpend(`req-${uid()}`, team, [teamBudget, keyBudget], 400, 60 * SECOND);
        assert.equal(b.granted, false, 'the key budget has 100 left');
        if (!b.granted) assert.deepEqual([b.refusedIndex, b.status.spent, b.status.reserved], [1, 0, 400]);
        // The refused request took nothing from the team budget.
        const c = await store.reserveSpend(`req-${uid()}`, team, [teamBudget], 600, 60 * SECOND);
        assert.ok(c.granted);
        assert.equal(c.charges[0]!.reserved, 1000);
        assert.equal((await store.reserveSpend(`req-${uid()}`, team, [teamBudget], 1, 60 * SECOND)).granted, false);
        // Settling below the estimate frees the difference; spend is recorded on every budget.
        assert.equal(await store.settleSpend(a.reservation, 150), true);
        assert.equal(await store.spent(team, `team:${team}`, month), 150);
        assert.equal(await store.spent(team, 'key:k', month), 150);
        const d = await store.reserveSpend(`req-${uid()}`, team, [teamBudget], 250, 60 * SECOND);
        assert.ok(d.granted);
        assert.deepEqual([d.charges[0]!.spent, d.charges[0]!.reserved], [150, 850]);
        // releaseSpend drops a reservation without spending.
        await store.releaseSpend(d.reservation);
        await store.releaseSpend(c.reservation);
        const e = await store.reserveSpend(`req-${uid()}`, team, [teamBudget], 850, 60 * SECOND);
        assert.ok(e.granted);
        assert.equal(await store.spent(team, `team:${team}`, month), 150);
      });

      it('settles once, also after the reservation expired, and never loses spend', async () => {
        const team = `t-${uid()}`;
        const budget = { subject: `team:${team}`, period: month, limit: 10_000 };
        const a = await store.reserveSpend(`req-${uid()}`, team, [budget], 100, 100);
        assert.ok(a.granted);
        await sleep(200);
        assert.equal(await store.settleSpend(a.reservation, 7_000), true);
        assert.equal(await store.settleSpend(a.reservation, 7_000), false);
        assert.equal(await store.spent(team, budget.subject, month), 7_000);
        // Spend above the limit is kept; the next request is refused against it.
        const b = await store.reserveSpend(`req-${uid()}`, team, [budget], 3_001, 60 * SECOND);
        assert.equal(b.granted, false);
      });

      it('a settlement counts from the moment it is asked for, before it is confirmed', async () => {
        const team = `t-${uid()}`;
        const budget = { subject: `team:${team}`, period: month, limit: 1_000 };
        const a = await store.reserveSpend(`req-${uid()}`, team, [budget], 400, 60 * SECOND);
        assert.ok(a.granted);
        const settling = store.settleSpend(a.reservation, 900);
        const b = await store.reserveSpend(`req-${uid()}`, team, [budget], 200, 60 * SECOND);
        assert.equal(b.granted, false, '900 settling + 200 > 1,000');
        assert.equal(await settling, true);
        assert.equal(await store.spent(team, budget.subject, month), 900);
      });

      it('expired reservations stop counting (a crashed request leaves no phantom spend)', async () => {
        const team = `t-${uid()}`;
        const budget = { subject: `feature:${team}/bot`, period: month, limit: 100 };
        assert.ok((await store.reserveSpend(`req-${uid()}`, team, [budget], 100, 150)).granted);
        assert.equal((await store.reserveSpend(`req-${uid()}`, team, [budget], 1, 60 * SECOND)).granted, false);
        await sleep(300);
        const r = await store.reserveSpend(`req-${uid()}`, team, [budget], 100, 60 * SECOND);
        assert.ok(r.granted);
        assert.equal(r.charges[0]!.reserved, 100);
      });

      it('tracks a budget without a limit, and keeps periods apart', async () => {
        const team = `t-${uid()}`;
        const r = await store.reserveSpend(`req-${uid()}`, team, [{ subject: 'key:free', period: month, limit: null }], 9_000_000_000_000, SECOND);
        assert.ok(r.granted);
        assert.equal(await store.settleSpend(r.reservation, 8_999_999_999_999), true);
        assert.equal(await store.spent(team, 'key:free', month), 8_999_999_999_999);
        assert.equal(await store.spent(team, 'key:free', '2026-12'), 0);
      });

      it('100 concurrent reservations of 10 against 500 grant exactly 50, across two replicas', async () => {
        const [r1, r2] = await backend.replicas();
        try {
          const team = `t-${uid()}`;
          const budget = { subject: `team:${team}`, period: month, limit: 500 };
          const results = await Promise.all(ids(100).map((id, i) => (i % 2 ? r1 : r2).reserveSpend(id, team, [budget], 10, 60 * SECOND)));
          assert.equal(results.filter((r) => r.granted).length, 50);
          // Settling every grant through either replica sums exactly.
          await Promise.all(results.map((r, i) => (r.granted ? (i % 3 ? r1 : r2).settleSpend(r.reservation, 7) : undefined)));
          assert.equal(await r1.spent(team, budget.subject, month), 350);
        } finally {
          await Promise.all([r1.close(), r2.close()]);
        }
      });

      it('refuses non-integer nano-USD', async () => {
        const team = `t-${uid()}`;
        await assert.rejects(store.reserveSpend(`req-${uid()}`, team, [{ subject: 's', period: month, limit: 10 }], 0.5, SECOND), RangeError);
      });

      // The ledger keeps a running total per budget instead of summing the reservations each
      // call: these check that the total stays exact through thousands of reserves, releases,
      // settlements (twice each) and expiries.
      it('5,000 reservations held: totals stay exact through release, settle and refusal', async () => {
        const team = `t-${uid()}`;
        const teamBudget = { subject: `team:${team}`, period: month, limit: 50_000 };
        const keyBudget = { subject: 'key:k-many', period: month, limit: null };
        const held = await inChunks(ids(5_000), (id) => store.reserveSpend(id, team, [teamBudget, keyBudget], 10, 60 * SECOND));
        const grants = held.map((r) => (r.granted ? r.reservation : assert.fail('every one of the 5,000 fits')));
        const full = await store.reserveSpend(`req-${uid()}`, team, [teamBudget, keyBudget], 1, 60 * SECOND);
        assert.equal(full.granted, false);
        if (!full.granted) assert.deepEqual([full.refusedIndex, full.status.spent, full.status.reserved], [0, 0, 50_000]);
        // Release 1,000 and settle 1,000 at 3 each, every one twice: the second counts nothing.
        for (let round = 0; round < 2; round++) {
          await inChunks(grants.slice(0, 1_000), (r) => store.releaseSpend(r));
          await inChunks(grants.slice(1_000, 2_000), (r) => store.settleSpend(r, 3));
        }
        assert.equal(await store.spent(team, teamBudget.subject, month), 3_000);
        assert.equal(await store.spent(team, keyBudget.subject, month), 3_000);
        // 3,000 held × 10 = 30,000 reserved; 3,000 spent: exactly 17,000 is left.
        const last = await store.reserveSpend(`req-${uid()}`, team, [teamBudget, keyBudget], 17_000, 60 * SECOND);
        assert.ok(last.granted);
        assert.deepEqual(
          last.charges.map((c) => [c.spent, c.reserved]),
          [
            [3_000, 47_000],
            [3_000, 47_000],
          ],
        );
        const over = await store.reserveSpend(`req-${uid()}`, team, [teamBudget], 1, 60 * SECOND);
        assert.equal(over.granted, false);
        if (!over.granted) assert.deepEqual([over.status.spent, over.status.reserved], [3_000, 47_000]);
      });

      it('5,000 expired reservations stop counting at once; a late settlement still spends, once', async () => {
        const team = `t-${uid()}`;
        const budget = { subject: `team:${team}`, period: month, limit: 60_000 };
        const keep = await store.reserveSpend(`req-${uid()}`, team, [budget], 10, 60 * SECOND);
        assert.ok(keep.granted);
        const short = await inChunks(ids(5_000), (id) => store.reserveSpend(id, team, [budget], 10, 500));
        assert.ok(short.every((r) => r.granted));
        // Each expires 500 ms after its own reserve: waiting past that from the last one expires all.
        await sleep(800);
        const r = await store.reserveSpend(`req-${uid()}`, team, [budget], 7, 60 * SECOND);
        assert.ok(r.granted);
        assert.equal(r.charges[0]!.reserved, 10 + 7, 'only the live reservations count');
        const late = short[0]!;
        assert.ok(late.granted);
        assert.equal(await store.settleSpend(late.reservation, 5), true);
        assert.equal(await store.settleSpend(late.reservation, 5), false);
        await store.releaseSpend(late.reservation);
        const after = await store.reserveSpend(`req-${uid()}`, team, [budget], 1, 60 * SECOND);
        assert.ok(after.granted);
        assert.deepEqual([after.charges[0]!.spent, after.charges[0]!.reserved], [5, 10 + 7 + 1], 'an expired hold is not subtracted twice');
      });
    });

    describe('cache', () => {
      it('returns the bytes stored, until their TTL', async () => {
        const key = `cache:${uid()}`;
        const bytes = new Uint8Array([0, 1, 2, 250, 255, 10, 13]);
        assert.equal(await store.cacheGet(key), undefined);
        await store.cacheSet(key, bytes, 200);
        assert.deepEqual(Array.from((await store.cacheGet(key)) ?? []), Array.from(bytes));
        await sleep(350);
        assert.equal(await store.cacheGet(key), undefined);
      });
    });

    describe('records', () => {
      it('puts, gets, lists by namespace in id order, deletes, and expires', async () => {
        const ns = `gateway-key-${uid()}`;
        await store.putRecord(ns, 'b', '{"team":"t2"}');
        await store.putRecord(ns, 'a', '{"team":"t1"}');
        await store.putRecord(`${ns}-other`, 'a', 'elsewhere');
        await store.putRecord(ns, 'tmp', 'short-lived', 150);
        assert.equal(await store.getRecord(ns, 'a'), '{"team":"t1"}');
        assert.deepEqual(await store.listRecords(ns), [
          { id: 'a', value: '{"team":"t1"}' },
          { id: 'b', value: '{"team":"t2"}' },
          { id: 'tmp', value: 'short-lived' },
        ]);
        await store.putRecord(ns, 'b', '{"team":"t2","disabled":true}');
        assert.equal(await store.getRecord(ns, 'b'), '{"team":"t2","disabled":true}');
        await sleep(300);
        assert.equal(await store.getRecord(ns, 'tmp'), undefined);
        assert.equal(await store.deleteRecord(ns, 'a'), true);
        assert.equal(await store.deleteRecord(ns, 'a'), false);
        assert.deepEqual(await store.listRecords(ns), [{ id: 'b', value: '{"team":"t2","disabled":true}' }]);
        assert.deepEqual(await store.listRecords(`${ns}-other`), [{ id: 'a', value: 'elsewhere' }]);
      });
    });

    describe('spend history', () => {
      const HOUR = 3_600_000;
      const DAY = 24 * HOUR;
      const hourNow = Math.floor(Date.now() / HOUR) * HOUR;
      const bucket = (team: string, hour: number, provider: string, model: string, n: number): SpendBucket => ({
        hour, team, provider, model, requests: n, tokensIn: 10 * n, tokensOut: 20 * n, tokensCached: n, nanoUsd: 1_000 * n,
      });
      const mine = (team: string, all: SpendBucket[]): SpendBucket[] => all.filter((b) => b.team === team);

      it('adds batches into hourly buckets per team, provider and model, and reads a range of hours', async () => {
        const team = `t-${uid()}`;
        await store.addSpendHistory([bucket(team, hourNow, 'openai', 'gpt-4o-mini', 2), bucket(team, hourNow - HOUR, 'anthropic', 'claude', 1)], 35 * DAY);
        await store.addSpendHistory([bucket(team, hourNow, 'openai', 'gpt-4o-mini', 3), bucket(team, hourNow, 'cache', 'gpt-4o-mini', 1)], 35 * DAY);
        const all = mine(team, await store.readSpendHistory(hourNow - 2 * HOUR, hourNow + HOUR));
        assert.deepEqual(all, [bucket(team, hourNow - HOUR, 'anthropic', 'claude', 1), bucket(team, hourNow, 'cache', 'gpt-4o-mini', 1), bucket(team, hourNow, 'openai', 'gpt-4o-mini', 5)]);
        assert.deepEqual(mine(team, await store.readSpendHistory(hourNow, hourNow + HOUR)).map((b) => b.provider), ['cache', 'openai'], 'from is inclusive, to exclusive');
      });

      it('two replicas add to the same buckets; either reads the sum', async () => {
        const team = `t-${uid()}`;
        const [a, b] = await backend.replicas();
        await Promise.all([a.addSpendHistory([bucket(team, hourNow, 'p', 'm', 4)], DAY), b.addSpendHistory([bucket(team, hourNow, 'p', 'm', 6)], DAY)]);
        assert.deepEqual(mine(team, await a.readSpendHistory(hourNow, hourNow + HOUR)), [bucket(team, hourNow, 'p', 'm', 10)]);
        assert.deepEqual(mine(team, await b.readSpendHistory(hourNow, hourNow + HOUR)), [bucket(team, hourNow, 'p', 'm', 10)]);
        await a.close();
        await b.close();
      });

      it('keeps buckets keepMs after their hour: older ones are not kept', async () => {
        const team = `t-${uid()}`;
        await store.addSpendHistory([bucket(team, hourNow - 3 * DAY, 'p', 'm', 1), bucket(team, hourNow - HOUR, 'p', 'm', 1)], DAY);
        assert.deepEqual(mine(team, await store.readSpendHistory(hourNow - 4 * DAY, hourNow + HOUR)), [bucket(team, hourNow - HOUR, 'p', 'm', 1)]);
      });

      it('refuses a bucket that is not an hour start, a fractional amount and a range that is not whole hours', async () => {
        await assert.rejects(store.addSpendHistory([bucket('t', hourNow + 1, 'p', 'm', 1)], DAY), RangeError);
        await assert.rejects(store.addSpendHistory([{ ...bucket('t', hourNow, 'p', 'm', 1), nanoUsd: 0.5 }], DAY), RangeError);
        await assert.rejects(store.readSpendHistory(hourNow, hourNow + 10), RangeError);
      });
    });

    describe('durability and lifecycle', () => {
      it('settled spend and records survive a restart; in-flight reservations need not', async () => {
        const team = `t-${uid()}`;
        const ns = `gateway-key-${uid()}`;
        const budget = { subject: `team:${team}`, period: '2026-11', limit: 1_000 };
        const a = await store.reserveSpend(`req-${uid()}`, team, [budget], 300, 60 * SECOND);
        assert.ok(a.granted);
        assert.equal(await store.settleSpend(a.reservation, 250), true);
        await store.putRecord(ns, 'key-1', '{"hash":"h1"}');
        const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
        const history = { hour, team, provider: 'p', model: 'm', requests: 1, tokensIn: 2, tokensOut: 3, tokensCached: 0, nanoUsd: 250 };
        await store.addSpendHistory([history], 86_400_000);
        store = await backend.reopen(store);
        assert.deepEqual((await store.readSpendHistory(hour, hour + 3_600_000)).filter((b) => b.team === team), [history], 'spend history too');
        assert.equal(await store.spent(team, budget.subject, '2026-11'), 250);
        assert.equal(await store.getRecord(ns, 'key-1'), '{"hash":"h1"}');
        assert.equal(await store.settleSpend(a.reservation, 250), false, 'settled before the restart: not again');
        assert.equal(store.isReady(), true);
      });

      it('a closed store throws StateUnavailableError naming backend and operation', async () => {
        const s = await backend.open();
        await s.close();
        assert.equal(s.isReady(), false);
        await assert.rejects(s.reserve(`req-${uid()}`, 't', [{ counter: 'c', amount: 1, limit: 1, windowMs: SECOND }]), (err: unknown) => {
          assert.ok(err instanceof StateUnavailableError);
          assert.equal(err.backend, s.backend);
          assert.equal(err.operation, 'reserve');
          return true;
        });
      });
    });
  });
}
