import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { calcPrice } from '@pydantic/genai-prices';
import OpenAI from 'openai';
import { waitUntil } from '../../src/lib/wait-until.ts';
import { periodAt } from '../../src/policy/budget-period.ts';
import { RedisStateStore } from '../../src/state/redis/store.ts';
import { startTestStack, type TestStack } from '../support/e2e.ts';
import { startRedis, type TestRedis } from '../support/redis-server.ts';
import { demoConfigWithoutPolicies } from '../support/unit/config.ts';

/**
 * A team budget across a fleet (issue 8, "a team budget stops within the stated in-flight
 * bound"): two gateway replicas (each its own Envoy and ext_proc) on one redis-server, N
 * concurrent requests through the openai SDK split across both, against a team budget of a few
 * worst-case requests. README "Budgets" states the bound: every admission keeps settled spend +
 * live reservations + its own reservation ≤ the limit, so spend passes the limit only by
 * Σ max(0, actual cost − reservation). With `max_tokens` set the output never exceeds what was
 * reserved, so that excess can only come from a prompt longer than its characters / 4 estimate:
 * at most each admitted request's prompt tokens at the input rate (the estimate taken as 0).
 * Prices come from genai-prices (the catalogue the gateway uses), not from the gateway's code.
 * `max_tokens` is below the simulator's answer length, so every answer uses all it reserved and
 * budgets kept per replica (LiteLLM's failure) would admit about twice the requests and fail here.
 */
const MAX_TOKENS = 12;
const PROVIDER_MODEL = 'claude-sonnet-4-5-20250929';
const usdOf = (input: number, output: number): number => {
  const p = calcPrice({ input_tokens: input, output_tokens: output }, PROVIDER_MODEL, { providerId: 'anthropic' });
  assert.ok(p, `genai-prices prices anthropic/${PROVIDER_MODEL}`);
  return p.total_price;
};
/** USD per token, input and output, at catalogue prices (short prompts: below any long-context tier). */
const INPUT_USD = usdOf(1000, 0) / 1000;
const OUTPUT_USD = usdOf(0, 1000) / 1000;
/** The output part of one request's worst case; a reservation is at least this. */
const WORST_OUTPUT_USD = MAX_TOKENS * OUTPUT_USD;
/** A few worst-case requests: four requests' output, rounded to the nano-USD. */
const LIMIT_USD = Math.round(4 * WORST_OUTPUT_USD * 1e9) / 1e9;
const N = 24;

const MONTH = (): string => periodAt('month', Date.now()).id;

describe('a team budget across two replicas sharing Redis (e2e)', () => {
  let redis: TestRedis;
  let dir: string;
  let store: RedisStateStore;
  const replicas: TestStack[] = [];
  const demoKey = `sk-llmx-e2e-${randomBytes(9).toString('hex')}`;

  before(async () => {
    redis = await startRedis();
    dir = mkdtempSync(path.join(tmpdir(), 'llmx-budget-fleet-e2e-'));
    const configFile = path.join(dir, 'gateway.yaml');
    // softPercent 100: never degrade, so every request either spends on Claude or is refused.
    writeFileSync(configFile, `${demoConfigWithoutPolicies()}\nbudgets:\n  teams:\n    demo:\n      budget: { limitUsd: ${LIMIT_USD}, softPercent: 100 }\n`);
    // One after the other: the machine is small, and each start is Envoy + ext_proc + simulators.
    for (let i = 0; i < 2; i++) replicas.push(await startTestStack({ configFile, demoKey, env: { REDIS_URL: redis.url } }));
    store = new RedisStateStore({ url: redis.url, commandTimeoutMs: 2000 });
    assert.equal(await store.waitReady(5000), true);
  });
  after(async () => {
    await store?.close();
    for (const r of replicas) await r.dispose();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`${N} concurrent requests over both replicas: admitted and spent within the stated in-flight bound`, async () => {
    const outcomes = await Promise.all(
      Array.from({ length: N }, async (_, i) => {
        const client = replicas[i % 2]!.client();
        const body = { model: 'claude-sonnet-4-5', messages: [{ role: 'user' as const, content: `Tell me a long story, number ${i}` }], max_tokens: MAX_TOKENS };
        try {
          if (i % 4 < 2) {
            await client.chat.completions.create(body);
          } else {
            const stream = await client.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } });
            for await (const _chunk of stream);
          }
          return 'admitted' as const;
        } catch (err) {
          assert.ok(err instanceof OpenAI.RateLimitError, String(err));
          assert.equal(err.code, 'budget_exceeded');
          assert.match(err.message, /Budget exceeded for team demo/);
          return 'refused' as const;
        }
      }),
    );
    const admitted = outcomes.filter((o) => o === 'admitted').length;
    assert.ok(admitted >= 1, 'the budget admits requests it can cover');
    assert.ok(admitted < N, 'the budget stopped the rest');

    // Every request's line, from both replicas (written when each request settles); the refused ones cost nothing.
    const demoLines = (): Array<Record<string, unknown>> => replicas.flatMap((r) => r.logLines().filter((l) => l['msg'] === 'request' && l['key_name'] === 'demo'));
    await waitUntil('a line per request', async () => demoLines().length === N, 10_000).catch(() => undefined);
    const lines = demoLines();
    assert.equal(lines.length, N, 'one line per request');
    const paid = lines.filter((l) => typeof l['cost_usd'] === 'number' && (l['cost_usd'] as number) > 0);
    assert.equal(paid.length, admitted, 'one priced line per admitted request');
    for (const l of paid) assert.ok((l['tokens_out'] as number) <= MAX_TOKENS, 'the output stays within what was reserved');
    const loggedNano = lines.reduce((s, l) => s + (typeof l['cost_usd'] === 'number' ? Math.round((l['cost_usd'] as number) * 1e9) : 0), 0);

    // Spend after the run = the sum of the log lines' cost_usd over both replicas.
    let spentNano = -1;
    await waitUntil('every request settled', async () => (spentNano = await store.spent('demo', 'team:demo', MONTH())) === loggedNano, 10_000).catch(() => undefined);
    assert.equal(spentNano, loggedNano, 'team spend in Redis = Σ cost_usd in both replicas\' logs');

    // The stated bound: limit + what prompts beyond their estimate may add (prompt tokens at the input rate).
    const excessNano = paid.reduce((s, l) => s + Math.ceil((l['tokens_in'] as number) * INPUT_USD * 1e9), 0);
    const limitNano = Math.round(LIMIT_USD * 1e9);
    assert.ok(spentNano <= limitNano + excessNano, `spent ${spentNano} nano-USD ≤ limit ${limitNano} + in-flight excess ${excessNano}`);
    // Hence the count: every admitted request cost at least the cheapest one.
    const cheapestNano = Math.min(...paid.map((l) => Math.round((l['cost_usd'] as number) * 1e9)));
    assert.ok(admitted <= Math.floor((limitNano + excessNano) / cheapestNano), `admitted ${admitted}, cheapest ${cheapestNano} nano-USD`);
  });
});
