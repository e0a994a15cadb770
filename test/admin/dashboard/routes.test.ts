import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { Server } from 'node:http';
import { GatewayMetrics } from '../../../src/metrics/metrics.ts';
import { startAdminServer } from '../../../src/admin/server.ts';
import type { AdminKeys } from '../../../src/admin/key-service.ts';
import { sha256Hex } from '../../../src/policy/keys.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { RecentRequests, teeRequestLines } from '../../../src/observability/recent-requests.ts';

const ADMIN_KEY = 'sk-llmx-admin-dashboard-test-0123';

describe('dashboard routes on the admin listener', () => {
  let server: Server;
  let base: string;
  before(async () => {
    const metrics = new GatewayMetrics();
    metrics.cost.inc({ model: 'm', provider: 'p', team: 't' }, 0.5);
    server = await startAdminServer('127.0.0.1', 0, {
      keys: {} as AdminKeys,
      adminKeySha256: () => sha256Hex(ADMIN_KEY),
      dashboard: { registry: metrics.registry, recent: new RecentRequests(5), spend: { addSpendHistory: async () => undefined, readSpendHistory: async () => [] } },
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/admin/dashboard`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('serves the page and its files without the key, from this listener only (CSP self, no inline script)', async () => {
    for (const [sub, type] of [['', 'text/html'], ['/app.js', 'text/javascript'], ['/style.css', 'text/css'], ['/chart.umd.js', 'text/javascript']] as const) {
      const res = await fetch(`${base}${sub}`);
      assert.equal(res.status, 200, sub);
      assert.ok(res.headers.get('content-type')!.startsWith(type), sub);
      assert.match(res.headers.get('content-security-policy')!, /script-src 'self';/);
      assert.ok((await res.text()).length > 1000);
    }
    const html = await (await fetch(base)).text();
    assert.ok(!/https?:\/\//.test(html.replace(/<!doctype html>/i, '')), 'no external URL in the page');
    assert.ok(!/<script>(?!<\/script>)/.test(html), 'no inline script');
  });

  it('needs the admin key for the data, and serves nothing else under the path', async () => {
    assert.equal((await fetch(`${base}/data`)).status, 401);
    assert.equal((await fetch(`${base}/data`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
    const ok = await fetch(`${base}/data`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as { totals: { costUsd: number } }).totals.costUsd, 0.5);
    for (const sub of ['/../server.ts', '/index.html', '/constructor', '/page/app.js']) {
      assert.equal((await fetch(`${base}${sub}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).status, 404, sub);
    }
  });
});

describe('teeRequestLines', () => {
  it('writes every line as before and keeps request lines that name a model, without content', async () => {
    const written: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, cb) => (written.push(String(chunk)), cb()) });
    const recent = new RecentRequests(5);
    const log = teeRequestLines(createLogger('info', sink), recent);
    log.info({ request_id: 'r1', team: 'demo', model: 'gpt-4o-mini', prompt: 'the question', completion: 'the answer' }, 'request');
    log.info({ other: 1 }, 'something else');
    log.child({ c: 1 }).warn('child works');
    // No model: GET /v1/models, a bad key, an unknown path: logged, not a (blank) dashboard row.
    log.info({ request_id: 'r2', method: 'GET', path: '/v1/models', status: 200, outcome: 'completed' }, 'request');
    log.info({ request_id: 'r3', model: '', status: 401, outcome: 'rejected' }, 'request');
    await new Promise((r) => setImmediate(r));
    assert.equal(written.length, 5);
    assert.equal(JSON.parse(written[0]!).prompt, 'the question', 'the log line itself is unchanged');
    assert.deepEqual(recent.list().map((l) => [l['request_id'], l['team'], 'prompt' in l, 'completion' in l]), [['r1', 'demo', false, false]]);
  });
});
