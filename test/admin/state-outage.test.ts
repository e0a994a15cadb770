import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { GatewayMetrics } from '../../src/metrics/metrics.ts';
import { startAdminServer } from '../../src/admin/server.ts';
import type { AdminKeys } from '../../src/admin/key-service.ts';
import { sha256Hex } from '../../src/policy/keys.ts';
import { RecentRequests } from '../../src/observability/recent-requests.ts';
import { StateUnavailableError } from '../../src/state/errors.ts';
import type { SpendHistoryStore } from '../../src/state/spend-history.ts';
import type { RuntimeConfig } from '../../src/config/runtime.ts';
import type { StateStore } from '../../src/state/store.ts';

const ADMIN_KEY = 'sk-llmx-admin-outage-test-0123';
const REDIS_ADDR = '10.9.8.7:6379';

/** A spend history whose backend is down (or up, when `down` is false), as RedisStateStore fails: StateUnavailableError. */
function flakySpend(state: { down: boolean }): SpendHistoryStore {
  return {
    addSpendHistory: async () => undefined,
    readSpendHistory: async () => {
      if (state.down) throw new StateUnavailableError('redis', 'readSpendHistory', new Error(`connect ECONNREFUSED ${REDIS_ADDR}`));
      return [];
    },
  };
}

describe('admin API with the state backend down', () => {
  const backend = { down: true };
  const lines: Array<{ level: string; obj: Record<string, unknown>; msg: string }> = [];
  let server: Server;
  let base: string;
  const get = async (path: string) => {
    const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    return { status: res.status, headers: res.headers, json: (await res.json()) as any };
  };

  before(async () => {
    const metrics = new GatewayMetrics();
    metrics.cost.inc({ model: 'gpt-4o-mini', provider: 'openai-primary', team: 'demo' }, 0.25);
    metrics.requests.inc({ model: 'gpt-4o-mini', provider: 'openai-primary', status: '200', stream: 'false', outcome: 'completed' }, 2);
    metrics.requests.inc({ model: '', provider: '', status: '200', stream: 'false', outcome: 'completed' }, 5); // GET /v1/models
    // The budget gauge read fails too (same backend).
    metrics.sources = {
      config: () => ({ models: new Map(), aliases: new Map(), budgets: { rules: [{ scope: 'team', subject: 'team:demo', period: 'month', limitNanoUsd: 1e9 }] } }) as unknown as RuntimeConfig,
      state: { backend: 'redis', isReady: () => false, spent: async () => { throw new StateUnavailableError('redis', 'spent', new Error('down')); } } as unknown as StateStore,
    };
    const spend = flakySpend(backend);
    const log = {
      warn: (obj: object, msg: string) => lines.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
      info: (obj: object, msg: string) => lines.push({ level: 'info', obj: obj as Record<string, unknown>, msg }),
    };
    server = await startAdminServer('127.0.0.1', 0, {
      keys: {} as AdminKeys,
      adminKeySha256: () => sha256Hex(ADMIN_KEY),
      spend: { store: spend },
      dashboard: { registry: metrics.registry, recent: new RecentRequests(5), spend },
      audit: (obj, msg) => lines.push({ level: 'audit', obj, msg }),
      log,
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('GET /admin/spend: 503 state_unavailable with retry-after: 1, naming no address', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await get('/admin/spend?groupBy=team');
      assert.equal(r.status, 503);
      assert.equal(r.headers.get('retry-after'), '1');
      assert.equal(r.json.error.type, 'service_unavailable_error');
      assert.equal(r.json.error.code, 'state_unavailable');
      assert.ok(!JSON.stringify(r.json).includes('10.9.8.7'));
    }
  });

  it('GET /admin/dashboard/data: 200 with the local figures, spend and budgets null and marked', async () => {
    const r = await get('/admin/dashboard/data');
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.stateUnavailable, true);
    assert.equal(r.json.spendByTeam, null);
    assert.equal(r.json.spendByProvider, null);
    assert.equal(r.json.budgets, null);
    assert.equal(r.json.totals.costUsd, 0.25, 'local metrics still answer');
    assert.deepEqual([r.json.totals.requests, r.json.totals.otherRequests], [2, 5], 'model requests apart from the model list');
  });

  it('logs the outage at warn once, without host or port; the per-request audit lines carry no cause', () => {
    const warns = lines.filter((l) => l.level === 'warn');
    assert.equal(warns.length, 1, JSON.stringify(warns));
    assert.match(String(warns[0]!.obj['error']), /state backend redis unavailable during readSpendHistory/);
    assert.ok(!JSON.stringify(lines).includes('10.9.8.7'), 'no address in any line');
    assert.ok(!JSON.stringify(lines).includes('6379'), 'no port in any line');
    const refused = lines.filter((l) => l.level === 'audit' && l.obj['error_code'] === 'state_unavailable');
    assert.equal(refused.length, 3);
    assert.ok(refused.every((l) => !('err' in l.obj)));
  });

  it('answers again when the backend is back (the dashboard with its spend)', async () => {
    backend.down = false;
    assert.equal((await get('/admin/spend')).status, 200);
    const d = await get('/admin/dashboard/data');
    assert.equal(d.json.stateUnavailable, false);
    assert.equal(d.json.spendByTeam.object, 'gateway.spend');
  });
});
