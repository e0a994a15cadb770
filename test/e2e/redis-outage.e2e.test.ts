import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { demoSupportKey } from '../../src/cli/stack.ts';
import { waitUntil } from '../../src/lib/wait-until.ts';
import { periodAt } from '../../src/policy/budget-period.ts';
import { RedisStateStore } from '../../src/state/redis/store.ts';
import { startTestStack, type ErrorBody, type TestStack } from '../support/e2e.ts';
import { startRedis, type TestRedis } from '../support/redis-server.ts';
import { demoConfigWithoutPolicies } from '../support/unit/config.ts';

/**
 * Redis killed mid-traffic (issue 8, "Redis killed mid-test: each policy behaves as configured,
 * and the gateway recovers when Redis returns"), through the real Envoy with one replica on a real
 * redis-server that keeps an append-only file, so a restart brings its data back:
 * - rate limits `fail-closed`: the support key (a team/feature limit) gets 503 `state_unavailable`
 *   with `retry-after: 1`;
 * - budgets `fail-open`: the demo key (a key budget) is admitted, and what it spent during the
 *   outage reaches Redis once it is back (README "Budgets": kept settlements are sent before the
 *   next reservation);
 * - the response cache (on Redis): `bypass`, the provider answers; a stored answer is a hit again
 *   after the restart;
 * - gateway.yaml keys keep authenticating; an admin-created key (stored in Redis) is 503 once its
 *   cached lookup (5 s) has lapsed, never 401;
 * - `gateway_policy_state_errors_total` counts each policy's faults with its mode;
 * then the same requests succeed again without restarting the gateway.
 */
const POLICIES = `
rateLimits:
  onStateError: fail-closed
  teams:
    support:
      features:
        support-bot: { requestsPerMinute: 1000 }
budgets:
  onStateError: fail-open
  keys:
    demo: { limitUsd: 5 }
`;

const MONTH = (): string => periodAt('month', Date.now()).id;

describe('Redis killed mid-traffic: every policy as configured, then recovery (e2e)', () => {
  let redis: TestRedis;
  let dir: string;
  let stack: TestStack;
  let store: RedisStateStore;
  let adminKey = '';
  const demoKey = `sk-llmx-e2e-${randomBytes(9).toString('hex')}`;

  before(async () => {
    redis = await startRedis({ persist: true });
    dir = mkdtempSync(path.join(tmpdir(), 'llmx-redis-outage-e2e-'));
    const configFile = path.join(dir, 'gateway.yaml');
    writeFileSync(configFile, demoConfigWithoutPolicies() + POLICIES);
    stack = await startTestStack({ configFile, demoKey, env: { REDIS_URL: redis.url } });
    store = new RedisStateStore({ url: redis.url, commandTimeoutMs: 2000 });
    assert.equal(await store.waitReady(5000), true);
  });
  after(async () => {
    await store?.close();
    await stack?.dispose();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** One chat request by raw HTTP (statuses and headers as sent); `cached`: deterministic, so the cache looks it up. */
  async function chat(key: string, opts: { cached?: boolean; content?: string } = {}): Promise<{ status: number; headers: Headers; json: ErrorBody & Record<string, unknown> }> {
    const body = {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: opts.content ?? 'Hello there' }],
      max_tokens: 20,
      ...(opts.cached ? { temperature: 0 } : { temperature: 1 }),
    };
    const res = await stack.raw('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, json: (await res.json()) as ErrorBody & Record<string, unknown> };
  }

  function assertStateUnavailable(r: { status: number; headers: Headers; json: ErrorBody }, who: string): void {
    assert.equal(r.status, 503, `${who}: ${JSON.stringify(r.json)}`);
    assert.equal(r.json.error.type, 'service_unavailable_error');
    assert.equal(r.json.error.code, 'state_unavailable');
    assert.equal(r.headers.get('retry-after'), '1');
    assert.ok(r.headers.get('x-request-id'));
  }

  /** Sum of the demo key's log-line costs, nano-USD. */
  function demoLoggedNano(): number {
    let nano = 0;
    for (const l of stack.logLines()) if (l['msg'] === 'request' && l['key_name'] === 'demo' && typeof l['cost_usd'] === 'number') nano += Math.round(l['cost_usd'] * 1e9);
    return nano;
  }

  it('before: every policy works on Redis, and an admin-created key authenticates', async () => {
    const res = await fetch(`${stack.adminApiUrl}/admin/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.adminApiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'outage-ops', team: 'ops' }),
    });
    assert.equal(res.status, 201);
    adminKey = ((await res.json()) as { key: string }).key;
    assert.equal((await chat(adminKey)).status, 200);
    const limited = await chat(demoSupportKey(demoKey));
    assert.equal(limited.status, 200);
    assert.equal(limited.headers.get('x-ratelimit-limit-requests'), '1000');
    const first = await chat(demoKey, { cached: true });
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('x-gateway-cache'), 'miss');
    await waitUntil('the answer is stored', async () => (await chat(demoKey, { cached: true })).headers.get('x-gateway-cache') === 'hit', 5000);
  });

  it('Redis killed mid-traffic: limits fail closed (503), budgets fail open, the cache is bypassed', async () => {
    // Demo requests in flight while Redis dies: each must still be answered by the provider.
    const [inFlight] = await Promise.all([Promise.all(Array.from({ length: 4 }, (_, i) => chat(demoKey, { content: `in flight ${i}` }))), redis.kill()]);
    for (const r of inFlight) assert.equal(r.status, 200, JSON.stringify(r.json));

    assertStateUnavailable(await chat(demoSupportKey(demoKey)), 'rate-limited key (fail-closed)');

    for (let i = 0; i < 3; i++) {
      const r = await chat(demoKey, { content: `during the outage ${i}` });
      assert.equal(r.status, 200, `budgeted key (fail-open): ${JSON.stringify(r.json)}`);
      assert.ok(Number(r.headers.get('x-gateway-cost-usd')) > 0);
    }
    // The answer stored before is out of reach: looked up nowhere, served by the provider.
    const cached = await chat(demoKey, { cached: true });
    assert.equal(cached.status, 200);
    assert.equal(cached.headers.get('x-gateway-cache'), 'bypass');
    assert.match(String((await stack.requestLog(cached.headers.get('x-request-id')))['provider']), /^openai-/);

    // The admin-created key: 503 once its cached lookup lapses, never a 401 (an outage is no verdict on a key).
    let admin = await chat(adminKey);
    for (let i = 0; i < 100 && admin.status === 200; i++) {
      await sleep(100);
      admin = await chat(adminKey);
    }
    assertStateUnavailable(admin, 'admin-created key');

    // The admin API: what reads the state backend is 503 state_unavailable; the dashboard degrades to its local figures.
    const auth = { authorization: `Bearer ${stack.adminApiKey}` };
    const spend = await fetch(`${stack.adminApiUrl}/admin/spend`, { headers: auth });
    const spendBody = (await spend.json()) as ErrorBody;
    assert.equal(spend.status, 503, JSON.stringify(spendBody));
    assert.equal(spendBody.error.code, 'state_unavailable');
    assert.equal(spend.headers.get('retry-after'), '1');
    const dash = await fetch(`${stack.adminApiUrl}/admin/dashboard/data`, { headers: auth });
    const dashBody = (await dash.json()) as { stateUnavailable: boolean; spendByTeam: unknown; budgets: unknown; totals: { requests: number } };
    assert.equal(dash.status, 200, JSON.stringify(dashBody));
    assert.deepEqual([dashBody.stateUnavailable, dashBody.spendByTeam, dashBody.budgets], [true, null, null]);
    assert.ok(dashBody.totals.requests > 0, 'local figures still there');
    const outageWarns = stack.logLines().filter((l) => l['msg'] === 'state backend unavailable: the admin API answers 503 state_unavailable');
    assert.equal(outageWarns.length, 1, 'one warn per outage');
    assert.equal(outageWarns[0]!['level'], 40, 'warn');
    assert.ok(!JSON.stringify(outageWarns).includes(String(new URL(redis.url).port)), 'no Redis port in the line');

    assert.ok((await stack.metric('gateway_policy_state_errors_total', { policy: 'rate-limit', mode: 'fail-closed' })) >= 1);
    assert.ok((await stack.metric('gateway_policy_state_errors_total', { policy: 'budget', mode: 'fail-open' })) >= 1);
  });

  it('Redis back (same port, its data kept): everything recovers without a gateway restart, and outage spend reaches Redis', async () => {
    await redis.restart();
    let limited = await chat(demoSupportKey(demoKey));
    for (let i = 0; i < 100 && limited.status !== 200; i++) {
      assertStateUnavailable(limited, 'while reconnecting');
      await sleep(100);
      limited = await chat(demoSupportKey(demoKey));
    }
    assert.equal(limited.status, 200);
    assert.equal((await chat(adminKey)).status, 200, 'the admin-created key is found again');
    const hit = await chat(demoKey, { cached: true });
    assert.equal(hit.status, 200);
    assert.equal(hit.headers.get('x-gateway-cache'), 'hit', 'the entry stored before the outage is back');
    // The next reservation sends the settlements kept during the outage first.
    assert.equal((await chat(demoKey, { content: 'after the outage' })).status, 200);

    let spent = 0;
    let logged = 0;
    await waitUntil(
      'outage spend in Redis',
      async () => {
        logged = demoLoggedNano();
        spent = await store.spent('demo', 'key:demo', MONTH());
        return logged > 0 && spent === logged;
      },
      10_000,
    ).catch(() => undefined);
    assert.equal(spent, logged, 'spend in Redis = the sum of the demo key\'s cost_usd, outage requests included');
  });
});
