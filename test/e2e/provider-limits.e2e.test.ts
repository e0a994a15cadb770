import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { waitUntil } from '../../src/lib/wait-until.ts';
import { startTestStack, type TestStack } from '../support/e2e.ts';
import { schemaErrors } from '../support/openai-schema.ts';
import { startRedis, type TestRedis } from '../support/redis-server.ts';

/**
 * Provider limits through the real Envoy (issue 9, item 4): `providers.<name>.limits` keeps a
 * target under its account's requests per minute; the requests past it go to the next target;
 * when every target is at its limit the caller gets a 429 `provider_capacity_exhausted` with a
 * retry-after; with two replicas on one redis-server the limit holds across both.
 *
 * Each scenario has its own provider model names on the two OpenAI simulators, so its limits and
 * windows are its own. The simulators' request logs say who served.
 */
const CONFIG = `
providers:
  openai-primary:
    dialect: openai
    apiKeyEnv: SIM_OPENAI_PRIMARY_KEY
    limits:
      sim-limited: { requestsPerMinute: 3 }
      sim-exhausted: { requestsPerMinute: 1 }
      sim-fleet: { requestsPerMinute: 4 }
  openai-backup:
    dialect: openai
    apiKeyEnv: SIM_OPENAI_BACKUP_KEY
    limits:
      sim-exhausted: { requestsPerMinute: 1, tokensPerMinute: 100000 }
  anthropic: { dialect: anthropic, apiKeyEnv: SIM_ANTHROPIC_KEY }
  gemini: { dialect: gemini, apiKeyEnv: SIM_GEMINI_KEY }
models:
  limited:
    pricing: { free: true }
    cache: off
    targets: [{ provider: openai-primary, model: sim-limited }, { provider: openai-backup, model: sim-limited }]
  exhausted:
    pricing: { free: true }
    cache: off
    targets: [{ provider: openai-primary, model: sim-exhausted }, { provider: openai-backup, model: sim-exhausted }]
  cooling:
    pricing: { free: true }
    cache: off
    targets: [{ provider: openai-primary, model: sim-cooling }, { provider: openai-backup, model: sim-cooling }]
  fleet:
    pricing: { free: true }
    cache: off
    targets: [{ provider: openai-primary, model: sim-fleet }, { provider: openai-backup, model: sim-fleet }]
keys:
  - { name: demo, team: demo, fromEnv: GATEWAY_DEMO_KEY, explain: true }
routing:
  health:
    rateLimited: { maxWaitMs: 500 }
`;

/** Requests a stack's simulator received for a provider model. */
const served = (gw: TestStack, sim: 'openai-primary' | 'openai-backup', providerModel: string): number =>
  gw.sims[sim]!.requests.filter((r) => (r.body as { model?: string })?.model === providerModel).length;

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'llmx-provider-limits-'));
  writeFileSync(path.join(dir, 'gateway.yaml'), CONFIG);
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('provider limits on one replica (e2e)', () => {
  let gw: TestStack;
  before(async () => {
    gw = await startTestStack({ configFile: path.join(dir, 'gateway.yaml') });
  });
  after(async () => {
    await gw?.dispose();
  });

  it('past the primary target\'s requests per minute, the requests go to the next target', async () => {
    const client = gw.client();
    for (let i = 0; i < 6; i++) {
      const res = await client.chat.completions.create({ model: 'limited', messages: [{ role: 'user', content: `Hi ${i}` }] }, { headers: { 'x-gateway-explain': '1' } }).withResponse();
      assert.ok(res.data.choices[0]?.message.content);
      if (i === 5) {
        const e = JSON.parse(res.response.headers.get('x-gateway-explain') ?? '{}') as { candidates: Array<{ target: string }>; skipped: Array<{ target: string; reasons: string[]; detail: string }> };
        assert.deepEqual(e.candidates.map((c) => c.target), ['openai-backup/sim-limited']);
        assert.deepEqual(e.skipped.map((s) => [s.target, s.reasons]), [['openai-primary/sim-limited', ['limit']]]);
        assert.match(e.skipped[0]!.detail, /^rpm 3\/3, resets in \d+ s$/);
      }
    }
    assert.equal(served(gw, 'openai-primary', 'sim-limited'), 3, 'the primary got exactly its limit');
    assert.equal(served(gw, 'openai-backup', 'sim-limited'), 3, 'the rest went to the backup, each at its first attempt');
  });

  it('every target at its limit: 429 provider_capacity_exhausted with a retry-after, through the openai SDK', async () => {
    const client = gw.client();
    for (let i = 0; i < 2; i++) await client.chat.completions.create({ model: 'exhausted', messages: [{ role: 'user', content: `Hi ${i}` }], max_tokens: 20 });
    assert.equal(served(gw, 'openai-primary', 'sim-exhausted'), 1);
    assert.equal(served(gw, 'openai-backup', 'sim-exhausted'), 1);
    let requestId: string | null | undefined;
    await assert.rejects(client.chat.completions.create({ model: 'exhausted', messages: [{ role: 'user', content: 'Hi again' }], max_tokens: 20 }, { headers: { 'x-gateway-explain': '1' } }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.RateLimitError, String(err));
      requestId = err.headers?.get('x-request-id');
      assert.equal(err.status, 429);
      assert.equal(err.code, 'provider_capacity_exhausted');
      assert.equal(err.type, 'rate_limit_error');
      assert.deepEqual(schemaErrors('ErrorResponse', { error: err.error }), []);
      assert.doesNotMatch(err.message, /openai-(primary|backup)|sim-exhausted/, 'names no provider');
      // The windows count in 6 s sub-windows (src/state/sliding-window.ts): the earliest frees within 66 s.
      const retryAfter = Number(err.headers?.get('retry-after'));
      assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 66, `retry-after ${retryAfter}`);
      const retryAfterMs = Number(err.headers?.get('retry-after-ms'));
      assert.equal(Math.max(1, Math.ceil(retryAfterMs / 1000)), retryAfter, 'retry-after-ms says the same, in ms');
      const e = JSON.parse(err.headers?.get('x-gateway-explain') ?? '{}') as { candidates: unknown[]; skipped: Array<{ reasons: string[] }> };
      assert.deepEqual(e.candidates, []);
      assert.deepEqual(e.skipped.map((s) => s.reasons), [['limit'], ['limit']]);
      return true;
    });
    assert.equal(served(gw, 'openai-primary', 'sim-exhausted') + served(gw, 'openai-backup', 'sim-exhausted'), 2, 'nothing more reached a provider');
    const line = await gw.requestLog(requestId);
    assert.deepEqual([line['status'], line['error_code'], line['attempts']], [429, 'provider_capacity_exhausted', 0]);
  });

  it('every target cooling after a provider 429 (retry-after 3 s, past maxWaitMs): the next request is answered 429 by the gateway, no provider called', async () => {
    const client = gw.client();
    for (const sim of ['openai-primary', 'openai-backup'] as const) gw.sims[sim]!.enqueueFault({ status: 429, retryAfter: 3 });
    await assert.rejects(client.chat.completions.create({ model: 'cooling', messages: [{ role: 'user', content: 'Hi' }] }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.RateLimitError, String(err));
      assert.equal(err.code, 'rate_limit_exceeded', "the providers' own 429, passed on");
      return true;
    });
    for (const provider of ['openai-primary', 'openai-backup']) {
      // Both attempts' 429s reach health through Envoy's upstream log (flushed every 0.1 s), the retried one too.
      await waitUntil(`${provider}'s 429 recorded`, async () => (await gw.metric('gateway_upstream_attempt_outcomes_total', { provider, model: 'sim-cooling', result: 'rate_limited' })) >= 1, 5000);
    }
    const before = served(gw, 'openai-primary', 'sim-cooling') + served(gw, 'openai-backup', 'sim-cooling');
    await assert.rejects(client.chat.completions.create({ model: 'cooling', messages: [{ role: 'user', content: 'Hi again' }] }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.RateLimitError, String(err));
      assert.equal(err.code, 'provider_capacity_exhausted');
      assert.deepEqual(schemaErrors('ErrorResponse', { error: err.error }), []);
      const retryAfter = Number(err.headers?.get('retry-after'));
      assert.ok(retryAfter >= 1 && retryAfter <= 3, `retry-after ${retryAfter}: when the first cool-down ends`);
      assert.equal(err.headers?.get('x-should-retry'), 'true');
      return true;
    });
    assert.equal(served(gw, 'openai-primary', 'sim-cooling') + served(gw, 'openai-backup', 'sim-cooling'), before, 'no provider was called');
  });
});

describe('provider limits across two replicas sharing Redis (e2e)', () => {
  let redis: TestRedis;
  const replicas: TestStack[] = [];
  const demoKey = `sk-llmx-e2e-${randomBytes(9).toString('hex')}`;
  before(async () => {
    redis = await startRedis();
    // One after the other: the machine is small, and each start is Envoy + ext_proc + simulators.
    for (let i = 0; i < 2; i++) replicas.push(await startTestStack({ configFile: path.join(dir, 'gateway.yaml'), demoKey, env: { REDIS_URL: redis.url } }));
  });
  after(async () => {
    for (const r of replicas) await r.dispose();
    await redis?.stop();
  });

  it("the primary's requests per minute hold over both replicas: 4 answers from it in all, the rest from the backup", async () => {
    const N = 12;
    await Promise.all(
      Array.from({ length: N }, async (_, i) => {
        const res = await replicas[i % 2]!.client().chat.completions.create({ model: 'fleet', messages: [{ role: 'user', content: `Hi ${i}` }] });
        assert.ok(res.choices[0]?.message.content);
      }),
    );
    const primary = replicas.reduce((n, r) => n + served(r, 'openai-primary', 'sim-fleet'), 0);
    const backup = replicas.reduce((n, r) => n + served(r, 'openai-backup', 'sim-fleet'), 0);
    assert.equal(primary, 4, 'a limit kept per replica would have let 8 through');
    assert.equal(backup, N - 4);
  });
});
