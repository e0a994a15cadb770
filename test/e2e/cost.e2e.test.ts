import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { calcPrice } from '@pydantic/genai-prices';
import type OpenAI from 'openai';
import { hello, SIM_PROVIDERS_YAML, startTestStack, type TestStack } from '../support/e2e.ts';

/**
 * Cost per request through the real Envoy (issue 8, item 3): a JSON answer carries
 * `x-gateway-cost-usd`, equal to the log line's `cost_usd` and to what the prices give for the
 * usage the caller sees; the oracle is genai-prices' own calcPrice (or the override's numbers),
 * not the gateway's pricing code. A failover is charged at the target that served.
 */
const CONFIG = `
${SIM_PROVIDERS_YAML}models:
  gpt-4o-mini:
    targets:
      - { provider: openai-primary, model: gpt-4o-mini }
      - { provider: openai-backup, model: gpt-4o-mini, pricing: { input: 1, cachedInput: 0.5, output: 2 } }
  claude-sonnet-4-5:
    targets: [{ provider: anthropic, model: claude-sonnet-4-5-20250929 }]
keys:
  - { name: demo, team: demo, fromEnv: GATEWAY_DEMO_KEY }
`;
const PROJECT = path.resolve(import.meta.dirname, '../..');

let gw: TestStack;
let client: OpenAI;
let dir: string;
before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'llmx-cost-'));
  const configFile = path.join(dir, 'gateway.yaml');
  writeFileSync(configFile, CONFIG);
  gw = await startTestStack({ configFile });
  client = gw.client();
});
after(async () => {
  await gw?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Usage = OpenAI.CompletionUsage;

/** genai-prices' price for what the caller was told it used, rounded to the nano-USD. */
function catalogueUsd(usage: Usage, model: string, providerId: string, cacheWrite = 0): number {
  const r = calcPrice(
    { input_tokens: usage.prompt_tokens, cache_read_tokens: usage.prompt_tokens_details?.cached_tokens ?? 0, cache_write_tokens: cacheWrite, output_tokens: usage.completion_tokens },
    model,
    { providerId },
  );
  assert.ok(r, `genai-prices prices ${providerId}/${model}`);
  return Math.round(r.total_price * 1e9) / 1e9;
}

/** The cost header as a number; it must be a plain decimal. */
function costHeader(res: Response): number {
  const h = res.headers.get('x-gateway-cost-usd');
  assert.ok(h, 'x-gateway-cost-usd is set on a JSON answer');
  assert.match(h, /^\d+(\.\d{1,9})?$/);
  return Number(h);
}

describe('x-gateway-cost-usd, cost_usd and gateway_cost_usd_total agree with the prices', () => {
  const logged: number[] = [];

  test('OpenAI format, catalogue price (gpt-4o-mini)', async () => {
    const { data, response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: hello }).withResponse();
    const header = costHeader(response);
    const line = await gw.requestLog(response.headers.get('x-request-id'));
    assert.equal(line['provider'], 'openai-primary');
    assert.equal(line['cost_usd'], header);
    assert.ok(header > 0);
    assert.equal(header, catalogueUsd(data.usage!, 'gpt-4o-mini', 'openai'));
    logged.push(header);
  });

  test('a failover is charged at the fallback target\'s override price', async () => {
    gw.sims['openai-primary']!.enqueueFault({ status: 503 });
    const { data, response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: hello }).withResponse();
    const header = costHeader(response);
    const line = await gw.requestLog(response.headers.get('x-request-id'));
    assert.equal(line['provider'], 'openai-backup');
    assert.equal(line['cost_usd'], header);
    const u = data.usage!;
    const cached = u.prompt_tokens_details?.cached_tokens ?? 0;
    assert.equal(header, Math.round((u.prompt_tokens - cached) * 1000 + cached * 500 + u.completion_tokens * 2000) / 1e9);
    logged.push(header);
  });

  test('Anthropic: cache reads and writes, which input_tokens excludes, each at their own rate', async () => {
    const fixture = JSON.parse(readFileSync(path.join(PROJECT, 'test/fixtures/wire/anthropic/message_text.json'), 'utf8')) as { usage: Record<string, number> };
    fixture.usage['cache_creation_input_tokens'] = 400;
    gw.sims['anthropic']!.enqueueFault({ replay: { status: 200, contentType: 'application/json', body: JSON.stringify(fixture) } });
    const { data, response } = await client.chat.completions.create({ model: 'claude-sonnet-4-5', messages: hello }).withResponse();
    // 18 uncached + 400 written + 1,893 read: the caller sees OpenAI's prompt_tokens, all three together.
    assert.equal(data.usage!.prompt_tokens, 18 + 400 + 1893);
    assert.equal(data.usage!.prompt_tokens_details?.cached_tokens, 1893);
    const header = costHeader(response);
    const line = await gw.requestLog(response.headers.get('x-request-id'));
    assert.equal(line['cost_usd'], header);
    assert.equal(header, catalogueUsd(data.usage!, 'claude-sonnet-4-5-20250929', 'anthropic', 400));
  });

  test('a stream has no cost header; its log line has the cost of its final usage', async () => {
    const { data: stream, response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: hello, stream: true, stream_options: { include_usage: true } }).withResponse();
    let usage: Usage | undefined;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    assert.equal(response.headers.get('x-gateway-cost-usd'), null);
    assert.ok(usage);
    const line = await gw.requestLog(response.headers.get('x-request-id'));
    assert.equal(line['cost_usd'], catalogueUsd(usage, 'gpt-4o-mini', 'openai'));
    logged.push(line['cost_usd'] as number);
  });

  test('gateway_cost_usd_total{model="gpt-4o-mini"} is the sum of the logged costs', async () => {
    const total = await gw.metric('gateway_cost_usd_total', { model: 'gpt-4o-mini' });
    const sum = logged.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(total - sum) < 1e-12, `${total} vs ${sum}`);
    assert.equal(await gw.metric('gateway_cost_usd_total', { model: 'gpt-4o-mini', provider: 'openai-backup' }), logged[1]);
  });
});
