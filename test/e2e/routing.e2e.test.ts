import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { hello, SIM_PROVIDERS_YAML, startTestStack, type TestStack } from '../support/e2e.ts';

/**
 * The routing decision through the real Envoy (issue 9, items 1, 2, 5, 6): a `cost` model whose
 * second target is cheaper *now* (an off-peak window around the test's own UTC time) is served by
 * that target; `x-gateway-explain` shows the order to a key allowed to ask; a `firstByteMs` model
 * fails over when its first target does not answer in time; a caller cannot set Envoy's timeouts;
 * constraints with `onUnmet: refuse` are a 503; the admin API explains without sending anything.
 */
const PLAIN_KEY = 'sk-llmx-routing-plain-0123456789';

/** "HH:MM" UTC, `deltaMin` minutes from now (wrapping midnight, as price windows do). */
function hhmm(deltaMin: number): string {
  const d = new Date(Date.now() + deltaMin * 60_000);
  return `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
}

const CONFIG = () => `
server:
  admin: { listen: 127.0.0.1:0, fromEnv: GATEWAY_ADMIN_KEY }
${SIM_PROVIDERS_YAML}models:
  off-peak:
    # The same price, but the backup is 90 % off inside a window around now: cheaper now, second in config order.
    targets:
      - { provider: openai-primary, model: gpt-4o-mini, pricing: { input: 1, output: 2 } }
      - { provider: openai-backup, model: gpt-4o-mini, pricing: { input: 1, output: 2, windows: [{ from: '${hhmm(-60)}', to: '${hhmm(60)}', multiplier: 0.1 }] } }
    routing: { strategy: cost }
  ttfb:
    targets:
      - { provider: openai-primary, model: gpt-4o-mini }
      - { provider: openai-backup, model: gpt-4o-mini }
    timeouts: { firstByteMs: 1000 }
  plain:
    targets: [{ provider: openai-primary, model: gpt-4o-mini }]
  capped:
    targets: [{ provider: openai-primary, model: gpt-4o-mini, pricing: { input: 1000, output: 1000 } }]
    routing: { constraints: { maxPriceUsd: 0.000001, onUnmet: refuse } }
keys:
  - { name: demo, team: demo, fromEnv: GATEWAY_DEMO_KEY, explain: true }
  - { name: plain, team: demo, sha256: ${createHash('sha256').update(PLAIN_KEY).digest('hex')} }
`;

interface Explanation {
  strategy: string;
  unit: string;
  candidates: Array<{ attempt: number; target: string; score: number | null }>;
  skipped: Array<{ target: string; reasons: string[]; detail: string }>;
  unmet: string[];
  refusal?: string;
}

let gw: TestStack;
let client: OpenAI;
let dir: string;
before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'llmx-routing-'));
  const configFile = path.join(dir, 'gateway.yaml');
  writeFileSync(configFile, CONFIG());
  gw = await startTestStack({ configFile });
  client = gw.client();
});
after(async () => {
  await gw?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const EXPLAIN = { headers: { 'x-gateway-explain': '1' } };
const explanationOf = (h: Headers): Explanation => {
  const v = h.get('x-gateway-explain');
  assert.ok(v, 'x-gateway-explain is on the response');
  assert.match(v, /^[\x20-\x7e]+$/, 'ASCII');
  return JSON.parse(v) as Explanation;
};
const served = (cluster: string): number => gw.sims[cluster]!.requests.length;

describe('routing through the real Envoy', () => {
  test('cost: the target that is cheaper now (off-peak window) serves, and the explanation shows the order', async () => {
    const before = { primary: served('openai-primary'), backup: served('openai-backup') };
    const { data, response } = await client.chat.completions.create({ model: 'off-peak', messages: hello, max_tokens: 50 }, EXPLAIN).withResponse();
    assert.equal(data.model, 'off-peak');
    assert.equal(served('openai-backup'), before.backup + 1, 'the backup (cheaper now) got the request');
    assert.equal(served('openai-primary'), before.primary, 'the primary (first in config order) did not');
    const line = await gw.requestLog(response.headers.get('x-request-id'));
    assert.equal(line['provider'], 'openai-backup');
    const e = explanationOf(response.headers);
    assert.equal(e.strategy, 'cost');
    assert.equal(e.unit, 'usd');
    assert.deepEqual(e.candidates.map((c) => [c.attempt, c.target]), [[1, 'openai-backup/gpt-4o-mini'], [2, 'openai-primary/gpt-4o-mini']]);
    assert.ok(e.candidates[0]!.score! < e.candidates[1]!.score!, 'the first is the cheaper estimate');
    assert.ok(Math.abs(e.candidates[0]!.score! / e.candidates[1]!.score! - 0.1) < 0.01, 'the window’s 90 % off');
    assert.deepEqual(e.skipped, []);
  });

  test('a stream gets the same order and the explanation header', async () => {
    const { data: stream, response } = await client.chat.completions.create({ model: 'off-peak', messages: hello, stream: true }, EXPLAIN).withResponse();
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    assert.ok(text.length > 0);
    assert.equal(explanationOf(response.headers).candidates[0]!.target, 'openai-backup/gpt-4o-mini');
    assert.equal((await gw.requestLog(response.headers.get('x-request-id')))['provider'], 'openai-backup');
  });

  test('a failover follows the decided order: the cheaper target fails, the one after it in the plan serves', async () => {
    gw.sims['openai-backup']!.enqueueFault({ status: 500 });
    const before = served('openai-primary');
    const { data, response } = await client.chat.completions.create({ model: 'off-peak', messages: hello }).withResponse();
    assert.ok(data.choices[0]!.message.content);
    assert.equal(served('openai-primary'), before + 1);
    const line = await gw.requestLog(response.headers.get('x-request-id'));
    assert.deepEqual([line['provider'], line['attempts']], ['openai-primary', 2]);
  });

  test('a key without explain: true asking for it: no header, no error', async () => {
    const plain = gw.client({ apiKey: PLAIN_KEY });
    const { response } = await plain.chat.completions.create({ model: 'off-peak', messages: hello }, EXPLAIN).withResponse();
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-gateway-explain'), null);
  });

  test('firstByteMs: a first target slower than that is abandoned for the second, which serves', async () => {
    gw.sims['openai-primary']!.enqueueFault({ latencyMs: 4000 });
    const before = served('openai-backup');
    // The caller's own per-try timeout (longer) is not what Envoy uses: the gateway's is.
    const { data, response } = await client.chat.completions
      .create({ model: 'ttfb', messages: hello }, { headers: { 'x-envoy-upstream-rq-per-try-timeout-ms': '60000' } })
      .withResponse();
    assert.equal(data.model, 'ttfb');
    assert.ok(data.choices[0]!.message.content);
    assert.equal(served('openai-backup'), before + 1);
    const line = await gw.requestLog(response.headers.get('x-request-id'));
    assert.equal(line['provider'], 'openai-backup');
    assert.equal(line['attempts'], 2);
  });

  test('a caller cannot set Envoy’s timeouts: a model without timeouts waits for its slow provider', async () => {
    gw.sims['openai-primary']!.enqueueFault({ latencyMs: 1500 });
    const { data, response } = await client.chat.completions
      .create(
        { model: 'plain', messages: hello },
        { headers: { 'x-envoy-upstream-rq-timeout-ms': '100', 'x-envoy-upstream-rq-per-try-timeout-ms': '100' } },
      )
      .withResponse();
    assert.equal(response.status, 200);
    assert.ok(data.choices[0]!.message.content);
  });

  test('constraints no target meets, onUnmet: refuse: 503 no_target_meets_constraints, explained', async () => {
    const err = await client.chat.completions.create({ model: 'capped', messages: hello }, EXPLAIN).then(
      () => assert.fail('refused'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof OpenAI.APIError);
    assert.equal(err.status, 503);
    assert.equal(err.type, 'server_error');
    assert.equal(err.code, 'no_target_meets_constraints');
    assert.match(err.message, /maxPriceUsd 0\.000001 USD/);
    const e = explanationOf(err.headers as unknown as Headers);
    assert.deepEqual(e.candidates, []);
    assert.deepEqual(e.skipped.map((s) => [s.target, s.reasons]), [['openai-primary/gpt-4o-mini', ['price']]]);
    assert.match(e.refusal!, /no target meets/);
  });

  test('admin API: POST /admin/routing/explain gives the same decision without sending anything upstream', async () => {
    const before = served('openai-primary') + served('openai-backup');
    const call = (body: unknown, key = gw.adminApiKey) =>
      fetch(`${gw.adminApiUrl}/admin/routing/explain`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const res = await call({ request: { model: 'off-peak', messages: hello }, key: 'plain' });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { object: string; plan: string[]; explanation: Explanation };
    assert.equal(body.object, 'gateway.routing_explanation');
    assert.deepEqual(body.plan, ['openai-backup/gpt-4o-mini', 'openai-primary/gpt-4o-mini']);
    assert.equal(body.explanation.strategy, 'cost');
    assert.equal(served('openai-primary') + served('openai-backup'), before, 'nothing went upstream');
    const ttfb = (await (await call({ request: { model: 'ttfb', messages: hello } })).json()) as { timeouts: Record<string, string> };
    assert.deepEqual(ttfb.timeouts, { 'x-envoy-upstream-rq-per-try-timeout-ms': '1000' });
    // Guarded like the other admin routes, and the request's own checks apply.
    assert.equal((await call({ request: { model: 'off-peak', messages: hello } }, 'sk-wrong')).status, 401);
    const unknownKey = await call({ request: { model: 'off-peak', messages: hello }, key: 'nobody' });
    assert.equal(unknownKey.status, 404);
    assert.equal(((await unknownKey.json()) as { error: { code: string } }).error.code, 'key_not_found');
    assert.equal((await call({ request: { model: 'nope', messages: hello } })).status, 404);
    assert.equal((await call({ request: { model: 'off-peak' } })).status, 400);
  });
});
