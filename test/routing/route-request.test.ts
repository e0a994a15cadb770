import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError } from '../../src/config/errors.ts';
import { buildRuntimeConfig, type RuntimeModel } from '../../src/config/runtime.ts';
import { gatewayConfigSchema } from '../../src/config/schema.ts';
import { CapabilityError } from '../../src/errors/capability-error.ts';
import { toOpenAIError } from '../../src/errors/to-openai.ts';
import { Exchange } from '../../src/exchange/exchange.ts';
import { chatRequestSchema, type ChatRequest } from '../../src/openai/chat-request.ts';
import { EXPLAIN_HEADER, explainHeaderValue, wantsExplanation } from '../../src/routing/explain-header.ts';
import type { TargetHealth } from '../../src/routing/health/target-health.ts';
import type { TargetHealthSnapshot } from '../../src/routing/health/view.ts';
import { NoTargetMeetsConstraintsError, routeExchange, routeRequest, withTimeouts } from '../../src/routing/route-request.ts';
import { ENVOY_PER_TRY_IDLE_TIMEOUT_MS, ENVOY_ROUTE_TIMEOUT_MS } from '../../src/routing/upstream-timeouts.ts';
import { DEMO_KEY } from '../support/unit/config.ts';
import { bodyMessage, headersMessage, immediate, phaseMutation } from '../support/unit/ext-proc.ts';
import * as h from '../support/unit/gateway.ts';

const ENV = { K: 'secret' };
const hi = [{ role: 'user', content: 'Hello there' }];
const req = (model: string, extra: Record<string, unknown> = {}): ChatRequest => chatRequestSchema.parse({ model, messages: hi, ...extra });

/** Three providers, each model's targets priced so that the order is known. */
function config(models: Record<string, unknown>, keys: unknown[] = [{ name: 'k', fromEnv: 'K' }], extra: Record<string, unknown> = {}) {
  const file = gatewayConfigSchema.parse({
    providers: { a: { dialect: 'openai', apiKeyEnv: 'K' }, b: { dialect: 'openai', apiKeyEnv: 'K' }, c: { dialect: 'anthropic', apiKeyEnv: 'K' } },
    models,
    keys,
    ...extra,
  });
  return buildRuntimeConfig(file, 'test.yaml', ENV, 1);
}

const dear = { input: 10, output: 30 };
const cheap = { input: 0.1, output: 0.3 };
const mid = { input: 1, output: 3 };

function costModel(): RuntimeModel {
  return config({
    m: {
      targets: [
        { provider: 'a', model: 'x', pricing: dear },
        { provider: 'b', model: 'x', pricing: cheap },
        { provider: 'c', model: 'y', pricing: mid },
      ],
      routing: { strategy: 'cost' },
    },
  }).models.get('m')!;
}

/** A health view with fixed snapshots by key; records probes asked. */
function healthOf(snaps: Record<string, Partial<TargetHealthSnapshot>>): TargetHealth & { probes: string[] } {
  const probes: string[] = [];
  const base: TargetHealthSnapshot = { latencyMs: {}, p95Ms: {}, samples: 0, errorRate: 0, attempts: 0, cachedInputShare: 0, breaker: 'closed' };
  return {
    probes,
    get: (key) => ({ ...base, ...snaps[key] }),
    record: () => undefined,
    releaseProbe: () => undefined,
    tryProbe: (key) => {
      probes.push(key);
      return true;
    },
  };
}

const NOW = Date.UTC(2026, 10, 30, 12, 0, 0);

describe('routeRequest', () => {
  test('cost: the order is cheapest first, not config order, and the plan headers name the clusters in that order', () => {
    const model = costModel();
    const { decision, plan } = routeRequest(model, req('m'), 10, { nowMs: NOW });
    assert.deepEqual(decision.order, [1, 2, 0]);
    assert.deepEqual(plan!.targets, [1, 2, 0]);
    assert.equal(plan!.headers['x-llmx-try-1'], 'b');
    assert.equal(plan!.headers['x-llmx-try-2'], 'c');
    assert.equal(plan!.headers['x-llmx-try-3'], 'a');
    assert.equal(plan!.headers['x-envoy-max-retries'], '2');
    // the same order: the same frozen plan object
    assert.equal(routeRequest(model, req('m'), 10, { nowMs: NOW }).plan, plan);
    assert.ok(Object.isFrozen(plan) && Object.isFrozen(plan!.headers));
  });

  test('priority without health: config order, every target', () => {
    const model = config({ m: { targets: [{ provider: 'a', model: 'x', pricing: dear }, { provider: 'b', model: 'x', pricing: cheap }] } }).models.get('m')!;
    assert.equal(model.routing.strategy, 'priority');
    const { plan } = routeRequest(model, req('m'), 10, { nowMs: NOW });
    assert.deepEqual(plan!.targets, [0, 1]);
  });

  test('capability first, then the strategy: Anthropic cannot serve n: 2, so it is out and the rest keep cost order', () => {
    const model = costModel();
    const { decision, plan } = routeRequest(model, req('m', { n: 2 }), 10, { nowMs: NOW });
    assert.deepEqual(plan!.targets, [1, 0]);
    const skipped = decision.explain().skipped;
    assert.deepEqual(skipped.map((s) => [s.key, s.reasons]), [['c/y', ['capability']]]);
  });

  test('no target can serve: the CapabilityError (400, the parameter named), as before routing existed', () => {
    const model = config({ m: { targets: [{ provider: 'c', model: 'y', pricing: mid }] } }).models.get('m')!;
    assert.throws(() => routeRequest(model, req('m', { n: 2 }), 10, { nowMs: NOW }), (err) => err instanceof CapabilityError && err.param === 'n');
  });

  test('the output limit priced is the request’s max_tokens × n, else the model’s defaultMaxTokens', () => {
    const model = config({
      m: { targets: [{ provider: 'a', model: 'x', pricing: { input: 0, output: 1 } }], routing: { strategy: 'cost' }, defaultMaxTokens: 1000 },
    }).models.get('m')!;
    const score = (r: ChatRequest): number => routeRequest(model, r, 0, { nowMs: NOW }).decision.explain().candidates[0]!.score!;
    assert.equal(score(req('m')), 1000 / 1e6);
    assert.equal(score(req('m', { max_tokens: 10 })), 10 / 1e6);
    assert.equal(score(req('m', { max_completion_tokens: 20, max_tokens: 10, n: 3 })), 60 / 1e6);
  });

  test('health: an open breaker leaves the plan while others can serve, a half-open one asks for its probe', () => {
    const model = costModel();
    const h = healthOf({ 'b/x': { breaker: 'open', breakerReason: 'errors', openUntilMs: NOW + 60_000 }, 'c/y': { breaker: 'half-open' } });
    const { decision, plan } = routeRequest(model, req('m'), 10, { nowMs: NOW, health: h });
    assert.deepEqual(plan!.targets, [2, 0]);
    assert.deepEqual(h.probes, ['c/y']);
    assert.deepEqual(routeRequest(model, req('m'), 10, { nowMs: NOW, health: h }).probes, ['c/y'], 'the grant is on the routed request, for finish to give back if unused');
    assert.deepEqual(routeRequest(model, req('m'), 10, { nowMs: NOW }).probes, [], 'no health, no probes');
    const skipped = decision.explain().skipped;
    assert.deepEqual(skipped.map((s) => [s.key, s.reasons]), [['b/x', ['breaker']]]);
    assert.match(skipped[0]!.detail, /breaker open \(errors\) until 2026-11-30T12:01:00\.000Z/);
  });

  test('constraints, best-available (default): the cheapest over maxPriceUsd still serves and the explanation says unmet', () => {
    const model = config({
      m: { targets: [{ provider: 'a', model: 'x', pricing: dear }, { provider: 'b', model: 'x', pricing: mid }], routing: { strategy: 'cost', constraints: { maxPriceUsd: 0.000001 } } },
    }).models.get('m')!;
    const { decision, plan } = routeRequest(model, req('m'), 10, { nowMs: NOW });
    assert.deepEqual(plan!.targets, [1, 0]);
    assert.deepEqual(decision.unmet, ['price']);
  });

  test('constraints with onUnmet: refuse: no plan; routeExchange throws a 503 server_error no_target_meets_constraints, and stores the decision', () => {
    const cfg = config({
      m: { targets: [{ provider: 'a', model: 'x', pricing: dear }], routing: { constraints: { maxPriceUsd: 0.000001, onUnmet: 'refuse' } } },
    });
    const model = cfg.models.get('m')!;
    assert.equal(routeRequest(model, req('m'), 10, { nowMs: NOW }).plan, undefined);
    const ex = new Exchange(cfg, undefined);
    ex.model = model;
    ex.request = req('m');
    assert.throws(
      () => routeExchange(ex, undefined, NOW),
      (err) => {
        assert.ok(err instanceof NoTargetMeetsConstraintsError);
        const o = toOpenAIError(err);
        assert.equal(o.status, 503);
        assert.equal(o.body.error.type, 'server_error');
        assert.equal(o.body.error.code, 'no_target_meets_constraints');
        assert.match(o.body.error.message, /maxPriceUsd 0\.000001 USD \(1 target\(s\) above it/);
        assert.equal(o.headers['x-should-retry'], 'false');
        return true;
      },
    );
    assert.equal(ex.plan, undefined);
    assert.ok(ex.routing?.refusal);
    assert.match(explainHeaderValue(ex.routing), /"refusal":"no target meets/);
  });

  test('routeExchange stores the decision and the plan; attempt N’s target key is model.targets[plan.targets[N-1]].key', () => {
    const cfg = config({ m: { targets: [{ provider: 'a', model: 'x', pricing: dear }, { provider: 'b', model: 'x', pricing: cheap }], routing: { strategy: 'cost' } } });
    const ex = new Exchange(cfg, undefined);
    ex.model = cfg.models.get('m')!;
    ex.request = req('m');
    routeExchange(ex, undefined, NOW);
    assert.deepEqual(ex.routing!.order, [1, 0]);
    assert.equal(ex.model.targets[ex.plan!.targets[0]!]!.key, 'b/x');
  });

  test('an alias shares its model’s routing and timeouts', () => {
    const cfg = config({ m: { targets: [{ provider: 'a', model: 'x', pricing: dear }, { provider: 'b', model: 'x', pricing: cheap }], routing: { strategy: 'cost' }, timeouts: { firstByteMs: 500 }, aliases: ['cheap'] } });
    const alias = cfg.aliases.get('cheap')!;
    assert.equal(alias.routing, cfg.models.get('m')!.routing);
    assert.deepEqual(routeRequest(alias, req('cheap'), 10, { nowMs: NOW }).plan!.targets, [1, 0]);
    assert.equal(routeRequest(alias, req('cheap'), 10, { nowMs: NOW }).plan!.headers['x-envoy-upstream-rq-per-try-timeout-ms'], '500');
  });
});

describe('timeouts', () => {
  test('firstByteMs and totalMs ride on the plan headers, on every order, the same object per order', () => {
    const model = config({
      m: { targets: [{ provider: 'a', model: 'x', pricing: dear }, { provider: 'b', model: 'x', pricing: cheap }], routing: { strategy: 'cost' }, timeouts: { firstByteMs: 2500, totalMs: 90_000 } },
    }).models.get('m')!;
    const { plan } = routeRequest(model, req('m'), 10, { nowMs: NOW });
    assert.equal(plan!.headers['x-envoy-upstream-rq-per-try-timeout-ms'], '2500');
    assert.equal(plan!.headers['x-envoy-upstream-rq-timeout-ms'], '90000');
    assert.equal(plan!.headers['x-llmx-try-1'], 'b');
    assert.equal(routeRequest(model, req('m'), 10, { nowMs: NOW }).plan, plan);
    // a plan the budget step re-makes (a dropped target) gets them too
    assert.equal(withTimeouts(model, model.plan).headers['x-envoy-upstream-rq-timeout-ms'], '90000');
  });

  test('a model without timeouts: no timeout header, and one shared plan per order', () => {
    const model = config({ m: { targets: [{ provider: 'a', model: 'x', pricing: dear }] } }).models.get('m')!;
    const { plan } = routeRequest(model, req('m'), 10, { nowMs: NOW });
    assert.equal(routeRequest(model, req('m'), 10, { nowMs: NOW }).plan, plan);
    assert.equal(withTimeouts(model, plan!), plan);
    assert.ok(!Object.keys(plan!.headers).some((h) => h.includes('timeout')));
  });

  test('values Envoy would override are refused at load, with the reason', () => {
    const load = (timeouts: unknown) => () => config({ m: { targets: [{ provider: 'a', model: 'x', pricing: dear }], timeouts } });
    assert.throws(load({ firstByteMs: 60_000 }), /firstByteMs: below 60000 ms, since envoy.yaml's per_try_idle_timeout \(60 s\)/);
    assert.throws(load({ totalMs: 300_001 }), /totalMs: at most 300000 ms, envoy.yaml's route timeout/);
    assert.throws(load({ firstByteMs: 5000, totalMs: 5000 }), /firstByteMs \(5000 ms\) must be below totalMs \(5000 ms\): Envoy ignores a per-try timeout/);
    assert.throws(load({ firstByteMs: 1.5 }), /whole milliseconds/);
    assert.throws(load({ idleMs: 5 }), /idleMs/);
  });

  test('the bounds are envoy.yaml’s and production.yaml’s route timeout and per_try_idle_timeout', () => {
    for (const file of ['envoy/envoy.yaml', 'envoy/production.yaml']) {
      const text = readFileSync(path.resolve(import.meta.dirname, '../..', file), 'utf8');
      const route = /route:\s*\n\s*timeout: (\d+)s/.exec(text);
      const idle = /per_try_idle_timeout: (\d+)s/.exec(text);
      assert.ok(route && idle, `${file} has a route timeout and a per_try_idle_timeout`);
      assert.equal(Number(route[1]) * 1000, ENVOY_ROUTE_TIMEOUT_MS, file);
      assert.equal(Number(idle[1]) * 1000, ENVOY_PER_TRY_IDLE_TIMEOUT_MS, file);
    }
  });
});

describe('config', () => {
  test('routing is checked against the targets at load (weights per target), with the path', () => {
    assert.throws(
      () => config({ m: { targets: [{ provider: 'a', model: 'x', pricing: dear }], routing: { strategy: 'weighted', weights: [1, 2] } } }),
      (err) => err instanceof ConfigError && /models\.m\.routing\.weights/.test(err.message),
    );
  });

  test('top-level routing.health: defaults, and overrides reach RuntimeConfig.routingHealth', () => {
    const plain = config({ m: { targets: [{ provider: 'a', model: 'x', pricing: dear }] } });
    assert.equal(plain.routingHealth.breaker.latency.thresholdMs, 10_000);
    const tuned = config({ m: { targets: [{ provider: 'a', model: 'x', pricing: dear }] } }, undefined, { routing: { health: { breaker: { latency: { openMs: 2000 } } } } });
    assert.equal(tuned.routingHealth.breaker.latency.openMs, 2000);
    assert.equal(tuned.models.get('m')!.targets[0]!.key, 'a/x');
  });
});

describe('explain', () => {
  test('the header value: compact ASCII JSON with strategy, unit, candidates in attempt order, skipped with reasons', () => {
    const model = costModel();
    const { decision } = routeRequest(model, req('m', { n: 2 }), 10, { nowMs: NOW });
    const value = explainHeaderValue(decision);
    assert.match(value, /^[\x20-\x7e]+$/);
    const e = JSON.parse(value);
    assert.equal(e.strategy, 'cost');
    assert.equal(e.unit, 'usd');
    assert.deepEqual(e.candidates.map((c: { attempt: number; target: string }) => [c.attempt, c.target]), [[1, 'b/x'], [2, 'a/x']]);
    assert.ok(e.candidates[0].score < e.candidates[1].score);
    assert.deepEqual(e.skipped, [{ target: 'c/y', reasons: ['capability'], detail: 'cannot serve this request', score: null }]);
    assert.deepEqual(e.unmet, []);
  });

  test('non-ASCII in a provider model name is escaped, and the JSON still reads back', () => {
    const model = config({ m: { targets: [{ provider: 'a', model: 'modèle', pricing: dear }] } }).models.get('m')!;
    const value = explainHeaderValue(routeRequest(model, req('m'), 10, { nowMs: NOW }).decision);
    assert.match(value, /^[\x20-\x7e]+$/);
    assert.equal(JSON.parse(value).candidates[0].target, 'a/modèle');
  });

  test('permission: only a key with explain: true, and only for the values 1 or true', () => {
    const cfg = config({ m: { targets: [{ provider: 'a', model: 'x', pricing: dear }] } }, [
      { name: 'k', fromEnv: 'K' },
      { name: 'ops', sha256: 'a'.repeat(64), explain: true },
    ]);
    assert.equal(cfg.keys.keys.find((k) => k.name === 'k')!.explain, undefined);
    assert.equal(cfg.keys.keys.find((k) => k.name === 'ops')!.explain, true);
    assert.equal(wantsExplanation('1'), true);
    assert.equal(wantsExplanation('true'), true);
    assert.equal(wantsExplanation('0'), false);
    assert.equal(wantsExplanation(undefined), false);
    assert.equal(EXPLAIN_HEADER, 'x-gateway-explain');
  });
});

describe('through the router-level processor (demo config)', () => {
  const { admit, admitHeaders, chatBody, chatHeaders, harness } = h;
  const support = { authorization: `Bearer ${DEMO_KEY}-support` };

  test('the plan headers follow the strategy’s order and carry the model’s firstByteMs; a caller’s x-envoy-* timeout headers are removed', () => {
    const gw = harness();
    try {
      const router = gw.router();
      const { headers, plan } = admit(router, chatBody('chat-fastest'), chatHeaders({ 'x-envoy-upstream-rq-timeout-ms': '1', 'x-envoy-upstream-rq-per-try-timeout-ms': '1' }));
      assert.ok(headers.remove.includes('x-envoy-upstream-rq-timeout-ms') && headers.remove.includes('x-envoy-upstream-rq-per-try-timeout-ms'));
      assert.equal(plan.set['x-envoy-upstream-rq-per-try-timeout-ms'], '10000');
      assert.equal(plan.set['x-envoy-upstream-rq-timeout-ms'], undefined);
      // no samples yet: every target shares the band (latency.ts), so any order of the three
      assert.deepEqual([plan.set['x-llmx-try-1'], plan.set['x-llmx-try-2'], plan.set['x-llmx-try-3']].sort(), ['gemini', 'openai-backup', 'openai-primary']);
    } finally {
      gw.close();
    }
  });

  test('x-gateway-explain: on the response for a key with explain: true; ignored (no header, no error) for another key', () => {
    const gw = harness();
    try {
      for (const [extra, expect] of [[{}, true], [support, false]] as const) {
        const router = gw.router();
        const { plan } = admit(router, chatBody('gpt-4o-mini'), chatHeaders({ 'x-gateway-explain': '1', ...extra }));
        assert.equal(plan.set['x-gateway-explain'], undefined, 'never sent upstream');
        const res = phaseMutation(router.handle(headersMessage('response_headers', { ':status': '200', 'content-type': 'application/json' })), 'response_headers');
        const value = res.set['x-gateway-explain'];
        if (!expect) {
          assert.equal(value, undefined);
          continue;
        }
        const e = JSON.parse(value!);
        assert.equal(e.strategy, 'priority');
        assert.deepEqual(e.candidates.map((c: { target: string }) => c.target), ['openai-primary/gpt-4o-mini', 'openai-backup/gpt-4o-mini']);
      }
    } finally {
      gw.close();
    }
  });

  test('without the request header a permitted key gets no explanation', () => {
    const gw = harness();
    try {
      const router = gw.router();
      admit(router, chatBody('gpt-4o-mini'));
      const res = phaseMutation(router.handle(headersMessage('response_headers', { ':status': '200', 'content-type': 'application/json' })), 'response_headers');
      assert.equal(res.set['x-gateway-explain'], undefined);
    } finally {
      gw.close();
    }
  });

  test('a capability refusal (400) comes before any order, so even when asked it has no explanation header', () => {
    const gw = harness();
    try {
      const router = gw.router();
      admitHeaders(router, chatHeaders({ 'x-gateway-explain': '1' }));
      const reply = immediate(router.handle(bodyMessage('request_body', chatBody('claude-sonnet-4-5', { n: 2 }))));
      assert.equal(reply.status, 400);
      assert.equal(reply.headers['x-gateway-explain'], undefined);
    } finally {
      gw.close();
    }
  });
});
