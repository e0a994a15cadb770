import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { demoSupportKey } from '../../src/cli/stack.ts';
import { waitUntil } from '../../src/lib/wait-until.ts';
import { periodAt } from '../../src/policy/budget-period.ts';
import { RedisStateStore } from '../../src/state/redis/store.ts';
import { startTestStack, type TestStack } from '../support/e2e.ts';
import { startRedis, type TestRedis } from '../support/redis-server.ts';
import { demoConfigWithoutPolicies } from '../support/unit/config.ts';

/**
 * Budgets through the real Envoy and the openai SDK, one replica on a real redis-server. The demo
 * models at catalogue prices, 1,000 output tokens at worst: claude-sonnet-4-5 (15 USD/M output)
 * ≈ 0.015 USD, gemini-2.5-flash (2.5 USD/M) ≈ 0.0025, gpt-4o-mini (0.6 USD/M) ≈ 0.0006.
 * The demo key's budget (0.01 USD) covers gemini and gpt-4o-mini, not Claude; the support key's
 * feature budget (0.0001 USD) covers nothing paid.
 */
const BUDGETS = `
budgets:
  degrade:
    claude-sonnet-4-5: [gpt-4o-mini]
  keys:
    demo: { limitUsd: 0.01 }
  teams:
    support:
      features:
        support-bot: { limitUsd: 0.0001 }
`;

const MONTH = (): string => periodAt('month', Date.now()).id;

describe('budgets through Envoy (e2e)', () => {
  let redis: TestRedis;
  let dir: string;
  let stack: TestStack;
  let store: RedisStateStore;
  const demoKey = `sk-llmx-e2e-${randomBytes(9).toString('hex')}`;
  const demoIds: string[] = [];

  before(async () => {
    redis = await startRedis();
    dir = mkdtempSync(path.join(tmpdir(), 'llmx-budget-e2e-'));
    const configFile = path.join(dir, 'gateway.yaml');
    writeFileSync(configFile, demoConfigWithoutPolicies() + BUDGETS);
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

  const ask = { messages: [{ role: 'user' as const, content: 'Hello there' }], max_tokens: 1000 };

  it('a target the budget cannot cover leaves the plan: chat-default is served by its next target', async () => {
    const { data, response } = await stack.client().chat.completions.create({ model: 'chat-default', ...ask }).withResponse();
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-gateway-degraded-from'), null, 'same model, fewer targets');
    const line = await stack.requestLog(response.headers.get('x-request-id'));
    assert.equal(line.provider, 'gemini', 'Claude (the first target) was never tried');
    assert.equal(line.attempts, 1);
    assert.equal(data.model, 'chat-default');
    demoIds.push(response.headers.get('x-request-id')!);
  });

  it('a model the budget cannot cover degrades along the chain, and the response says so', async () => {
    const { data, response } = await stack.client().chat.completions.create({ model: 'claude-sonnet-4-5', ...ask }).withResponse();
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-gateway-degraded-from'), 'claude-sonnet-4-5');
    assert.equal(data.model, 'gpt-4o-mini');
    const line = await stack.requestLog(response.headers.get('x-request-id'));
    assert.match(String(line.provider), /^openai-/);
    demoIds.push(response.headers.get('x-request-id')!);
  });

  it('a streamed request degrades too, and stays a stream', async () => {
    const stream = await stack.client().chat.completions.create({ model: 'claude-sonnet-4-5', ...ask, stream: true, stream_options: { include_usage: true } });
    let chunks = 0;
    let model = '';
    for await (const c of stream) {
      chunks++;
      model = c.model;
    }
    assert.ok(chunks > 1);
    assert.equal(model, 'gpt-4o-mini');
  });

  it('hard limit: 429 budget_exceeded naming the budget and its reset, with retry-after', async () => {
    await assert.rejects(stack.client({ apiKey: demoSupportKey(demoKey) }).chat.completions.create({ model: 'gpt-4o-mini', ...ask }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.RateLimitError, String(err));
      assert.equal(err.status, 429);
      assert.equal(err.code, 'budget_exceeded');
      assert.equal(err.type, 'insufficient_quota');
      assert.match(err.message, /Budget exceeded for feature support-bot of team support/);
      const reset = new Date(periodAt('month', Date.now()).endMs).toISOString().replace('.000Z', 'Z');
      assert.ok(err.message.includes(`resets at ${reset}`), err.message);
      assert.ok(Number(err.headers?.get('retry-after')) > 0);
      assert.ok(err.headers?.get('x-request-id'));
      return true;
    });
  });

  it("spend in Redis equals the sum of the demo key's per-request costs in the log lines", async () => {
    let expected = 0;
    const sum = async (): Promise<number> => {
      let nano = 0;
      for (const line of stack.logLines()) {
        if (line.msg === 'request' && line.key_name === 'demo' && typeof line.cost_usd === 'number') nano += Math.round(line.cost_usd * 1e9);
      }
      return nano;
    };
    await waitUntil(
      'settled spend',
      async () => {
        expected = await sum();
        return expected > 0 && (await store.spent('demo', 'key:demo', MONTH())) === expected;
      },
      10_000,
    ).catch(async (err: unknown) => {
      assert.equal(await store.spent('demo', 'key:demo', MONTH()), expected, String(err));
    });
    assert.ok(expected > 0);
  });
});
