import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { waitUntil } from '../../src/lib/wait-until.ts';
import { hello, SIM_PROVIDERS_YAML, startTestStack, type TestStack } from '../support/e2e.ts';
import { startRedis, type TestRedis } from '../support/redis-server.ts';

/**
 * Fleet-shared target health (issue 9, item 3: "with REDIS_URL, breaker state and the latency
 * windows are shared by the fleet"): two replicas (each its own Envoy, ext_proc and simulated
 * providers) on one redis-server. Only replica 1's primary is made slow, so replica 2 has no
 * evidence of its own: when replica 2 stops sending to its (healthy) primary, it is because
 * replica 1's breaker reached it through Redis. After the open period, one replica's probe
 * closes the breaker for both.
 */
const OPEN_MS = 6_000;
const CONFIG = `
${SIM_PROVIDERS_YAML}models:
  fleet-slow:
    pricing: { free: true }
    cache: off
    targets: [{ provider: openai-primary, model: sim-fleet }, { provider: openai-backup, model: sim-fleet }]
keys:
  - { name: demo, team: demo, fromEnv: GATEWAY_DEMO_KEY, explain: true }
routing:
  health:
    breaker:
      latency: { thresholdMs: 400, consecutive: 3, openMs: ${OPEN_MS} }
      errors: { rate: 0.5, windowMs: 30000, minRequests: 1000, openMs: ${OPEN_MS} }
      probeTimeoutMs: 10000
`;
const MODEL = 'fleet-slow';
const TARGET = { provider: 'openai-primary', model: 'sim-fleet' };

describe('target health shared by two replicas over Redis (e2e)', () => {
  let redis: TestRedis;
  let dir: string;
  const replicas: TestStack[] = [];

  before(async () => {
    redis = await startRedis();
    dir = mkdtempSync(path.join(tmpdir(), 'llmx-fleet-health-e2e-'));
    const configFile = path.join(dir, 'gateway.yaml');
    writeFileSync(configFile, CONFIG);
    // One after the other: the machine is small, and each start is Envoy + ext_proc + simulators.
    for (let i = 0; i < 2; i++) replicas.push(await startTestStack({ configFile, env: { REDIS_URL: redis.url } }));
  });
  after(async () => {
    for (const r of replicas) await r.dispose();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const primaryRequests = (r: TestStack): number => r.sims['openai-primary']!.requests.filter((q) => (q.body as { model?: string })?.model === TARGET.model).length;

  /** One chat request through replica `r`; who served it, in how many attempts, and the explanation. */
  async function ask(r: TestStack): Promise<{ provider: unknown; attempts: unknown; explain: { skipped?: Array<{ target: string; reasons: string[] }> } }> {
    const res = await r.client().chat.completions.create({ model: MODEL, messages: hello }, { headers: { 'x-gateway-explain': '1' } }).withResponse();
    assert.ok(res.data.choices[0]?.message.content, 'an answer');
    const line = await r.requestLog(res.response.headers.get('x-request-id'));
    assert.equal(line['status'], 200, 'the caller got an answer');
    const explain = JSON.parse(res.response.headers.get('x-gateway-explain') ?? '{}') as { skipped?: Array<{ target: string; reasons: string[] }> };
    return { provider: line['provider'], attempts: line['attempts'], explain };
  }

  const breakerLines = (r: TestStack): Array<Record<string, unknown>> => r.logLines().filter((l) => l['msg'] === 'circuit breaker state changed' && l['model'] === TARGET.model);

  test('replica 1 sees its primary slow and opens the breaker; replica 2 routes to the backup although its own primary is healthy; one probe later both are back', async () => {
    const [one, two] = replicas as [TestStack, TestStack];
    // Both replicas route to the primary while nothing is known against it.
    for (const r of replicas) assert.equal((await ask(r)).provider, 'openai-primary');

    one.sims['openai-primary']!.setDefaultFault({ latencyMs: 700 });
    for (let i = 0; i < 3; i++) assert.deepEqual((await ask(one)).provider, 'openai-primary', 'slow, but answered');
    await waitUntil('replica 1 opened the breaker', async () => (await one.metric('gateway_breaker_state', TARGET)) === 2, 5_000);
    // The bound is generous for a loaded machine; the sync itself runs every second.
    await waitUntil('replica 2 adopted it from Redis', async () => (await two.metric('gateway_breaker_state', TARGET)) === 2, 10_000);

    const seen = primaryRequests(two);
    for (let i = 0; i < 3; i++) {
      const r = await ask(two);
      assert.deepEqual([r.provider, r.attempts], ['openai-backup', 1], 'replica 2 goes straight to the backup');
      assert.deepEqual(r.explain.skipped?.find((s) => s.target === 'openai-primary/sim-fleet')?.reasons, ['breaker'], 'and says why');
    }
    assert.equal(primaryRequests(two), seen, 'replica 2\'s healthy primary got none of them');

    // Counted once in the fleet: replica 1 decided, replica 2 adopted (labelled as such).
    assert.equal(await one.metric('gateway_breaker_transitions_total', { ...TARGET, to: 'open' }), 1);
    assert.equal(await two.metric('gateway_breaker_transitions_total', { ...TARGET, to: 'open' }), 0);
    assert.equal(await two.metric('gateway_breaker_adopted_total', { ...TARGET, to: 'open', reason: 'latency' }), 1);
    assert.deepEqual(breakerLines(one).map((l) => [l['to'], l['source']]), [['open', 'local']]);
    const adopted = breakerLines(two);
    assert.deepEqual(adopted.map((l) => [l['from'], l['to'], l['reason'], l['source']]), [['closed', 'open', 'latency', 'fleet']]);
    assert.match(String(adopted[0]!['detail']), /3 attempts in a row above 400 ms/, 'with replica 1\'s evidence');

    // Replica 1's primary recovers. After the open period one replica's probe closes the breaker for both.
    one.sims['openai-primary']!.setDefaultFault(undefined);
    await new Promise((r) => setTimeout(r, OPEN_MS));
    let closed = false;
    for (let i = 0; i < 40 && !closed; i++) {
      await ask(replicas[i % 2]!);
      closed = (await one.metric('gateway_breaker_state', TARGET)) === 0 && (await two.metric('gateway_breaker_state', TARGET)) === 0;
      if (!closed) await new Promise((r) => setTimeout(r, 150));
    }
    assert.ok(closed, 'the breaker closed on both replicas');
    const closes = [...breakerLines(one), ...breakerLines(two)].filter((l) => l['to'] === 'closed').map((l) => l['source']).sort();
    assert.deepEqual(closes, ['fleet', 'local'], 'one replica\'s probe closed it; the other adopted the close');
    for (const r of replicas) assert.equal((await ask(r)).provider, 'openai-primary', 'traffic is back on the primary');
  });
});
