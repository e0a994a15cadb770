import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type OpenAI from 'openai';
import { hello, startTestStack, type TestStack } from '../support/e2e.ts';
import { schemaErrors } from '../support/openai-schema.ts';

/**
 * `usage.cost` (issue 8, item 3), opt-in per key as OpenRouter's usage accounting: through the
 * real Envoy with the openai SDK, a stream's final usage chunk carries `cost` (USD) equal to the
 * log line's `cost_usd` for a key with `usageCost: true`, in every wire format; a key without
 * the opt-in gets no `cost`; an admin-created key may opt in; JSON answers carry it too (next to
 * `x-gateway-cost-usd`).
 */
const COSTED_KEY = 'sk-llmx-usage-cost-e2e-key-0001';
const CONFIG = `
server:
  admin: { listen: 127.0.0.1:9465, fromEnv: GATEWAY_ADMIN_KEY }
providers:
  openai-primary: { dialect: openai, apiKeyEnv: SIM_OPENAI_PRIMARY_KEY }
  anthropic: { dialect: anthropic, apiKeyEnv: SIM_ANTHROPIC_KEY }
  gemini: { dialect: gemini, apiKeyEnv: SIM_GEMINI_KEY }
models:
  gpt-4o-mini:
    targets: [{ provider: openai-primary, model: gpt-4o-mini }]
  claude-sonnet-4-5:
    targets: [{ provider: anthropic, model: claude-sonnet-4-5-20250929 }]
  gemini-2.5-flash:
    targets: [{ provider: gemini, model: gemini-2.5-flash }]
keys:
  - { name: demo, team: demo, fromEnv: GATEWAY_DEMO_KEY }
  - { name: costed, team: demo, sha256: ${createHash('sha256').update(COSTED_KEY).digest('hex')}, usageCost: true }
`;

let gw: TestStack;
let dir: string;
before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'llmx-usage-cost-'));
  const configFile = path.join(dir, 'gateway.yaml');
  writeFileSync(configFile, CONFIG);
  gw = await startTestStack({ configFile });
});
after(async () => {
  await gw?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Streams with include_usage; returns the last chunk and the request id. */
async function lastChunk(client: OpenAI, model: string): Promise<{ chunk: OpenAI.ChatCompletionChunk; requestId: string | null }> {
  const { data: stream, response } = await client.chat.completions.create({ model, messages: hello, stream: true, stream_options: { include_usage: true } }).withResponse();
  let last: OpenAI.ChatCompletionChunk | undefined;
  for await (const chunk of stream) {
    assert.deepEqual(schemaErrors('CreateChatCompletionStreamResponse', chunk), []);
    last = chunk;
  }
  assert.ok(last, 'the stream has chunks');
  return { chunk: last, requestId: response.headers.get('x-request-id') };
}

describe('usage.cost in the final usage, for keys that opt in', () => {
  for (const model of ['gpt-4o-mini', 'claude-sonnet-4-5', 'gemini-2.5-flash']) {
    test(`${model}: the stream's usage chunk carries cost = the log line's cost_usd`, async () => {
      const { chunk, requestId } = await lastChunk(gw.client({ apiKey: COSTED_KEY }), model);
      assert.deepEqual(chunk.choices, [], 'the usage chunk comes last');
      const cost = (chunk.usage as (OpenAI.CompletionUsage & { cost?: unknown }) | null | undefined)?.cost;
      assert.equal(typeof cost, 'number');
      const line = await gw.requestLog(requestId);
      assert.equal(line['key_name'], 'costed');
      assert.ok((cost as number) > 0);
      assert.equal(cost, line['cost_usd']);
    });
  }

  test('a key without the opt-in gets usage without cost', async () => {
    const { chunk, requestId } = await lastChunk(gw.client(), 'gpt-4o-mini');
    assert.ok(chunk.usage, 'usage was asked for');
    assert.equal('cost' in chunk.usage, false);
    assert.ok(((await gw.requestLog(requestId))['cost_usd'] as number) > 0, 'the request is still priced');
  });

  test('an admin-created key can opt in too', async () => {
    const res = await fetch(`${gw.adminApiUrl}/admin/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.adminApiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'costed-admin', team: 'demo', usageCost: true }),
    });
    assert.equal(res.status, 201);
    const created = (await res.json()) as { key: string; usageCost: boolean };
    assert.equal(created.usageCost, true);
    const { chunk, requestId } = await lastChunk(gw.client({ apiKey: created.key }), 'gpt-4o-mini');
    const cost = (chunk.usage as OpenAI.CompletionUsage & { cost?: number }).cost;
    assert.equal(cost, (await gw.requestLog(requestId))['cost_usd']);
  });

  test('a JSON answer carries usage.cost too, equal to x-gateway-cost-usd; without the opt-in it does not', async () => {
    const { data, response } = await gw.client({ apiKey: COSTED_KEY }).chat.completions.create({ model: 'claude-sonnet-4-5', messages: hello }).withResponse();
    assert.deepEqual(schemaErrors('CreateChatCompletionResponse', data), []);
    const cost = (data.usage as OpenAI.CompletionUsage & { cost?: number }).cost;
    assert.equal(cost, Number(response.headers.get('x-gateway-cost-usd')));
    assert.equal(cost, (await gw.requestLog(response.headers.get('x-request-id')))['cost_usd']);
    const plain = await gw.client().chat.completions.create({ model: 'claude-sonnet-4-5', messages: hello });
    assert.equal('cost' in plain.usage!, false);
  });
});
