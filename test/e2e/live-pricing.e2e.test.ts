import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { calcPrice } from '@pydantic/genai-prices';
import { waitUntil } from '../../src/lib/wait-until.ts';
import { hello, startTestStack, type TestStack } from '../support/e2e.ts';
import { schemaErrors } from '../support/openai-schema.ts';

/**
 * Issue 10 items 5 and 6 through the real Envoy: GET /v1/models (the openai SDK) carries each
 * model's current prices and context length, refreshed from a local price source (a test HTTP
 * server in the gateway's own format, never the internet); a failing source keeps the last good
 * prices and is counted; the admin API's cost estimator answers over HTTP.
 */
let prices = { status: 200, body: '' };
const ownPrices = (input: number) => JSON.stringify({ models: [{ provider: 'openai', model: 'gpt-4o-mini', input, cachedInput: input / 2, output: input * 4, contextLength: 100000 }] });

let gw: TestStack;
let dir: string;
let priceServer: Server;
before(async () => {
  priceServer = createServer((_req, res) => res.writeHead(prices.status, { 'content-type': 'application/json' }).end(prices.body));
  await new Promise<void>((r) => priceServer.listen(0, '127.0.0.1', r));
  // A token in the query, as signed or token-bearing URLs carry one: it must never be shown.
  const url = `http://127.0.0.1:${(priceServer.address() as AddressInfo).port}/prices.json?token=e2e-s3cr3t`;
  prices = { status: 200, body: ownPrices(0.11) };
  dir = mkdtempSync(path.join(tmpdir(), 'llmx-live-pricing-'));
  const configFile = path.join(dir, 'gateway.yaml');
  writeFileSync(
    configFile,
    `
server:
  admin: { fromEnv: GATEWAY_ADMIN_KEY }
pricing:
  source: { url: "${url}", intervalMs: 1000, timeoutMs: 2000 }
providers:
  openai-primary: { dialect: openai, apiKeyEnv: SIM_OPENAI_PRIMARY_KEY }
  anthropic: { dialect: anthropic, apiKeyEnv: SIM_ANTHROPIC_KEY }
models:
  gpt-4o-mini:
    targets: [{ provider: openai-primary, model: gpt-4o-mini }]
  claude-sonnet-4-5:
    expectedLatencyMs: 900000
    targets: [{ provider: anthropic, model: claude-sonnet-4-5-20250929 }]
keys:
  - { name: demo, team: demo, fromEnv: GATEWAY_DEMO_KEY }
`,
  );
  gw = await startTestStack({ configFile });
});
after(async () => {
  await gw?.dispose();
  await new Promise<void>((r) => priceServer.close(() => r()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Priced {
  id: string;
  context_length: number | null;
  pricing: { currency: string; unit: string; input: number; cached_input: number; output: number; windows: unknown[] };
}
const listed = async (): Promise<Priced[]> => (await gw.client().models.list()).data as unknown as Priced[];

async function admin(pathname: string, body: unknown, key = gw.adminApiKey): Promise<{ status: number; json: any }> {
  const res = await fetch(`${gw.adminApiUrl}${pathname}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

describe('live pricing and the cost estimator through the real Envoy', () => {
  test('client.models.list() and retrieve() show current prices and context length beside OpenAI’s fields', async () => {
    const page = await gw.client().models.list();
    // The SDK's page holds `data`; the wire body is OpenAI's ListModelsResponse plus extra fields.
    const res = await gw.raw('/v1/models', { headers: { authorization: `Bearer ${gw.demoKey}` } });
    assert.deepEqual(schemaErrors('ListModelsResponse', await res.json()), []);
    const [mini, claude] = page.data as unknown as Priced[];
    assert.equal(mini!.id, 'gpt-4o-mini');
    assert.deepEqual([mini!.pricing.input, mini!.pricing.cached_input, mini!.pricing.output], [0.11, 0.055, 0.44], 'the refreshed source’s prices');
    assert.equal(mini!.context_length, 100000);
    assert.equal(mini!.pricing.currency, 'USD');
    // Per million at the base tier (1,000 tokens of each, × 1,000: below the long-context tier).
    const c = calcPrice({ input_tokens: 1000, output_tokens: 1000 }, 'claude-sonnet-4-5-20250929', { providerId: 'anthropic' })!;
    const perM = (usd: number) => Number((usd * 1000).toPrecision(12));
    assert.deepEqual([claude!.id, claude!.pricing.input, claude!.pricing.output], ['claude-sonnet-4-5', perM(c.input_price), perM(c.output_price)], 'the bundled catalogue for what the source does not list');
    const one = (await gw.client().models.retrieve('gpt-4o-mini')) as unknown as Priced;
    assert.deepEqual(one, mini);
  });

  test('a new price at the source shows within the refresh interval; a failing source keeps the last good prices and is counted', async () => {
    prices = { status: 200, body: ownPrices(0.22) };
    await waitUntil('the refreshed price on /v1/models', async () => (await listed())[0]!.pricing.input === 0.22, 10_000);
    prices = { status: 500, body: 'oops' };
    await waitUntil('a failed refresh counted', async () => (await gw.metric('gateway_price_refreshes_total', { result: 'failed' })) > 0, 10_000);
    assert.equal((await listed())[0]!.pricing.input, 0.22, 'the last good price keeps serving');
    assert.equal(gw.logLines().filter((l) => l['msg'] === 'price refresh failed; the last good prices keep serving').length, 1, 'logged once');
    // The admin API's view of the table: its source, the failure, the last good refresh.
    const res = await fetch(`${gw.adminApiUrl}/admin/prices`, { headers: { authorization: `Bearer ${gw.adminApiKey}` } });
    const table = (await res.json()) as { object: string; source: string; failures: number; lastError: string; lastSuccessAt: string; data: Priced[] };
    assert.equal(res.status, 200);
    assert.equal(table.object, 'gateway.price_table');
    assert.match(table.source, /^http:\/\/127\.0\.0\.1:\d+\/prices\.json\?token=\[redacted\]$/, 'the query value redacted');
    assert.doesNotMatch(JSON.stringify(gw.logLines()), /e2e-s3cr3t/, 'nor in any log line');
    assert.ok(table.failures >= 1);
    assert.equal(table.lastError, 'HTTP 500');
    assert.ok(Date.parse(table.lastSuccessAt) > 0);
    assert.equal(table.data.find((m) => m.id === 'gpt-4o-mini')!.pricing.input, 0.22);
    const scrape = await (await fetch(`http://127.0.0.1:${gw.metricsPort}/metrics`)).text();
    assert.match(scrape, /^gateway_price_table_age_seconds \d/m, 'the table’s age, which the stale alert reads');
    prices = { status: 200, body: ownPrices(0.22) };
  });

  test('POST /admin/costs/estimate ranks targets by monthly cost with the p95 behind each SLA verdict', async () => {
    const answer = await gw.client().chat.completions.create({ model: 'gpt-4o-mini', messages: hello });
    assert.ok(answer.choices[0]);
    const workload = { requestsPerDay: 10_000, inputTokens: 800, outputTokens: 200, cachedInputShare: 0.25, latencySlaMs: 60_000, hours: [8, 20] };
    let est = await admin('/admin/costs/estimate', workload);
    await waitUntil('the measured p95 of gpt-4o-mini', async () => {
      est = await admin('/admin/costs/estimate', workload);
      return est.json.data.some((r: any) => r.target === 'openai-primary/gpt-4o-mini' && r.p95Source === 'measured');
    }, 5000);
    assert.equal(est.status, 200);
    assert.equal(est.json.object, 'gateway.cost_estimate');
    const rows = est.json.data.map((r: any) => [r.rank, r.model, r.sla, r.p95Source]);
    assert.deepEqual(rows, [[1, 'gpt-4o-mini', 'met', 'measured'], [null, 'claude-sonnet-4-5', 'unmet', 'configured']]);
    const mini = est.json.data[0];
    // 800 prompt tokens (200 cached) and 200 output tokens at 0.22 / 0.11 / 0.88 per 1M, 10,000 a day for 30 days.
    const perRequest = (600 * 0.22 + 200 * 0.11 + 200 * 0.88) / 1e6;
    assert.ok(Math.abs(mini.monthlyUsd - perRequest * 10_000 * 30) < 1e-6, `${mini.monthlyUsd}`);
    assert.deepEqual(mini.bands.map((b: any) => [b.fromHourUtc, b.toHourUtc]), [[8, 20]]);
    assert.match(mini.priceSource, /^price URL http:\/\/127\.0\.0\.1:\d+\/prices\.json\?token=\[redacted\]: openai\/gpt-4o-mini$/, 'the refreshed source, not the bundled catalogue');
    assert.match(est.json.data[1].priceSource, /^catalogue anthropic\//, 'what the source does not list: the bundled catalogue');

    const bad = await admin('/admin/costs/estimate', { ...workload, cachedInputShare: 2 });
    assert.equal(bad.status, 400);
    assert.deepEqual([bad.json.error.type, bad.json.error.param, bad.json.error.code], ['invalid_request_error', 'cachedInputShare', 'invalid_value']);
    assert.equal((await admin('/admin/costs/estimate', workload, 'sk-wrong')).status, 401);
  });
});
