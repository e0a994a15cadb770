import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { explainRouting } from '../../src/admin/routing-explain.ts';
import { ConfigStore } from '../../src/config/store.ts';
import { GatewayError } from '../../src/errors/gateway-error.ts';
import type { TargetHealthSnapshot } from '../../src/routing/health/view.ts';
import { DEMO_CONFIG, DEMO_ENV } from '../support/unit/config.ts';

const configs = new ConfigStore(DEMO_CONFIG, DEMO_ENV);
const hi = [{ role: 'user', content: 'Hi' }];
const keyNamed = async (name: string) => configs.current.keys.keys.find((k) => k.name === name);
const base: TargetHealthSnapshot = { latencyMs: {}, p95Ms: {}, samples: 0, errorRate: 0, attempts: 0, cachedInputShare: 0, breaker: 'closed' };

const rejects = async (body: unknown, status: number, code: string): Promise<void> => {
  await assert.rejects(explainRouting({ config: () => configs.current, keyNamed }, body), (err) => err instanceof GatewayError && err.status === status && err.code === code);
};

describe('POST /admin/routing/explain (explainRouting)', () => {
  test('the plan and the explanation for a request, with the model’s timeouts', async () => {
    const v = await explainRouting({ config: () => configs.current, keyNamed }, { request: { model: 'chat-fastest', messages: hi } });
    assert.equal(v.object, 'gateway.routing_explanation');
    // nothing measured: the three share the latency band, in a drawn order
    assert.deepEqual([...v.plan].sort(), ['gemini/gemini-2.5-flash', 'openai-backup/gpt-4o-mini', 'openai-primary/gpt-4o-mini']);
    assert.deepEqual(v.timeouts, { 'x-envoy-upstream-rq-per-try-timeout-ms': '10000' });
    assert.equal(v.explanation.strategy, 'latency');
    assert.equal(v.key, null);
  });

  test('reads health without taking a half-open probe; an open breaker is explained', async () => {
    let probes = 0;
    const health = () => ({
      get: (key: string): TargetHealthSnapshot =>
        key === 'openai-primary/gpt-4o-mini' ? { ...base, breaker: 'open', breakerReason: 'latency', openUntilMs: Date.now() + 60_000 } : key === 'gemini/gemini-2.5-flash' ? { ...base, breaker: 'half-open' } : base,
      tryProbe: () => (probes++, true),
    });
    const v = await explainRouting({ config: () => configs.current, keyNamed, health }, { request: { model: 'chat-fastest', messages: hi } });
    assert.deepEqual([...v.plan].sort(), ['gemini/gemini-2.5-flash', 'openai-backup/gpt-4o-mini'], 'the open breaker is out; the two unmeasured share the band');
    assert.deepEqual(v.explanation.skipped.map((s) => [s.target, s.reasons]), [['openai-primary/gpt-4o-mini', ['breaker']]]);
    assert.equal(probes, 0, 'the view’s own tryProbe is never called');
  });

  test('the key’s scope, the request’s checks and the body’s shape apply', async () => {
    await rejects({ request: { model: 'claude-sonnet-4-5', messages: hi }, key: 'demo-support' }, 403, 'model_not_permitted');
    await rejects({ request: { model: 'gpt-4o-mini', messages: hi }, key: 'nobody' }, 404, 'key_not_found');
    await rejects({ request: { model: 'claude-sonnet-4-5', messages: hi, n: 2 } }, 400, 'unsupported_parameter');
    await rejects({ request: { model: 'gpt-4o-mini' } }, 400, 'missing_required_parameter');
    await rejects({ model: 'gpt-4o-mini', messages: hi }, 400, 'invalid_value');
    await rejects({ request: { model: 'gpt-4o-mini', messages: hi }, stream: true }, 400, 'unknown_parameter');
  });
});
