import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EmbeddedStateStore } from '../../src/state/embedded/store.ts';
import type { SpendBucket } from '../../src/state/spend-history.ts';
import { startAdminFixture, type AdminFixture } from './fixture.ts';

const HOUR = 3_600_000;
const H = Date.UTC(2026, 10, 30, 14); // 2026-11-30T14:00Z
const NOW = H + 25 * 60_000;
const b = (hour: number, team: string, provider: string, model: string, requests: number, nanoUsd: number): SpendBucket => ({
  hour, team, provider, model, requests, tokensIn: 10 * requests, tokensOut: 20 * requests, tokensCached: requests, nanoUsd,
});

describe('GET /admin/spend (embedded store)', () => {
  let api: AdminFixture;
  let store: EmbeddedStateStore;
  before(async () => {
    store = new EmbeddedStateStore({ sqlitePath: ':memory:', now: () => NOW });
    api = await startAdminFixture({ store, now: () => NOW });
    await store.addSpendHistory(
      [
        b(H, 'demo', 'openai', 'gpt-4o-mini', 3, 300_000_001),
        b(H, 'demo', 'anthropic', 'claude', 1, 2),
        b(H, 'support', 'openai', 'gpt-4o-mini', 2, 7),
        b(H - HOUR, 'demo', 'openai', 'gpt-4o-mini', 1, 1),
        b(H - 30 * HOUR, 'demo', 'openai', 'gpt-4o-mini', 9, 9),
      ],
      35 * 24 * HOUR,
    );
  });
  after(async () => {
    await api.close();
    await store.close();
  });

  it('defaults to the last 24 hours up to the end of this one, one row per hour, with totals', async () => {
    const r = await api.call('GET', '/admin/spend');
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assert.equal(r.json.object, 'gateway.spend');
    assert.equal(r.json.from, new Date(H + HOUR - 24 * HOUR).toISOString());
    assert.equal(r.json.to, new Date(H + HOUR).toISOString());
    assert.equal(r.json.bucket_seconds, 3600);
    assert.deepEqual(r.json.data, [
      { hour: new Date(H - HOUR).toISOString(), requests: 1, tokens_in: 10, tokens_out: 20, tokens_cached: 1, cost_usd: 1e-9 },
      { hour: new Date(H).toISOString(), requests: 6, tokens_in: 60, tokens_out: 120, tokens_cached: 6, cost_usd: 0.30000001 },
    ]);
    assert.deepEqual(r.json.total, { requests: 7, tokens_in: 70, tokens_out: 140, tokens_cached: 7, cost_usd: 0.300000011 });
  });

  it('groups by team, provider and model; from/to are rounded out to whole hours', async () => {
    const from = new Date(H + 5 * 60_000).toISOString();
    const to = new Date(H + 10 * 60_000).toISOString();
    const byTeam = await api.call('GET', `/admin/spend?from=${from}&to=${to}&groupBy=team`);
    assert.equal(byTeam.status, 200, JSON.stringify(byTeam.json));
    assert.deepEqual(byTeam.json.group_by, ['team']);
    assert.deepEqual(byTeam.json.data.map((d: any) => [d.team, d.requests, d.cost_usd]), [['demo', 4, 0.300000003], ['support', 2, 7e-9]]);
    const both = await api.call('GET', `/admin/spend?from=${from}&to=${to}&groupBy=provider,model`);
    assert.deepEqual(both.json.data.map((d: any) => [d.provider, d.model, d.requests]), [['anthropic', 'claude', 1], ['openai', 'gpt-4o-mini', 5]]);
    assert.equal(both.json.data[0].team, undefined, 'only the grouped names');
    const older = await api.call('GET', `/admin/spend?from=2026-11-29&to=2026-11-30&groupBy=team`);
    assert.deepEqual(older.json.data.map((d: any) => [d.hour, d.requests]), [[new Date(H - 30 * HOUR).toISOString(), 9]]);
  });

  it('refuses bad parameters with OpenAI errors naming them, other methods with 405, and needs the admin key', async () => {
    const bad = await api.call('GET', '/admin/spend?groupBy=key');
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.param, 'groupBy');
    const time = await api.call('GET', '/admin/spend?from=yesterday');
    assert.equal(time.status, 400);
    assert.equal(time.json.error.param, 'from');
    // Impossible dates and clock times: a 400 naming the parameter and the value, never Date's rollover (Nov 31 → Dec 1).
    for (const [param, value] of [['from', '2026-11-31'], ['to', '2026-02-29'], ['to', '2026-13-01'], ['from', '2026-11-30T24:00:00Z'], ['from', '2026-11-30T10:60Z'], ['to', '2026-11-00']] as const) {
      const r = await api.call('GET', `/admin/spend?${param}=${value}`);
      assert.equal(r.status, 400, `${param}=${value}`);
      assert.equal(r.json.error.param, param);
      assert.equal(r.json.error.code, 'invalid_time');
      assert.ok(r.json.error.message.includes(value), r.json.error.message);
    }
    assert.equal((await api.call('GET', '/admin/spend?from=2028-02-29&to=2028-03-01')).status, 200, 'a leap day');
    assert.equal((await api.call('GET', '/admin/spend?from=2026-11-30T23:59:59Z&to=2026-12-01')).status, 200);
    const order = await api.call('GET', '/admin/spend?from=2026-11-30&to=2026-11-01');
    assert.equal(order.status, 400);
    assert.equal(order.json.error.code, 'invalid_range');
    assert.equal((await api.call('POST', '/admin/spend', {})).status, 405);
    assert.equal((await api.call('GET', '/admin/spend', undefined, null)).status, 401);
  });
});
