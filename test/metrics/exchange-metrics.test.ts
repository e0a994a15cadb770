import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfigFile } from '../../src/config/loader.ts';
import { Exchange } from '../../src/exchange/exchange.ts';
import { BoundedLabel } from '../../src/metrics/bounded-label.ts';
import { recordExchangeMetrics } from '../../src/metrics/exchange-metrics.ts';
import { GatewayMetrics } from '../../src/metrics/metrics.ts';
import { UNRESTRICTED_SCOPE } from '../../src/policy/model-scope.ts';
import { DEMO_CONFIG, DEMO_ENV } from '../support/unit/config.ts';

const config = loadConfigFile(DEMO_CONFIG, DEMO_ENV, 1);

/** An exchange for `model` whose attempts 1..n went to its targets in order, all started at `startedAtMs`. */
function exchange(model: string, attempts: number, startedAtMs = 1000): Exchange {
  const ex = new Exchange(config, undefined);
  ex.caller = { name: 'demo', team: 'research', scope: UNRESTRICTED_SCOPE, disabled: false };
  ex.model = config.models.get(model)!;
  for (let n = 1; n <= attempts; n++) {
    const t = ex.model.targets[n - 1]!;
    ex.attempts.push({ provider: t.provider, providerModel: t.model, number: n, key: t.key, startedAtMs });
  }
  return ex;
}

/** One series' value from the registry's text: the sample whose labels include `labels`, summed. */
async function value(m: GatewayMetrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await m.registry.metrics();
  let sum = 0;
  for (const line of text.split('\n')) {
    const hit = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!hit || hit[1] !== name) continue;
    const have = Object.fromEntries([...(hit[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(hit[3]);
  }
  return sum;
}

describe('the GenAI convention histograms (exchange-metrics.ts)', () => {
  test('a completed stream: duration, tokens by type, TTFT from the attempt start, TPOT over the tokens after the first', async () => {
    const m = new GatewayMetrics();
    const ex = exchange('claude-sonnet-4-5', 1, 1000);
    ex.stream = true;
    ex.lastAttempt!.status = 200;
    ex.lastAttempt!.firstChunkAtMs = 1250;
    ex.usage = { promptTokens: 120, completionTokens: 11 };
    recordExchangeMetrics(m, { ex, outcome: 'completed', latencyMs: 2300, cacheHit: false, endedAtMonoMs: 2250 });
    const labels = { gen_ai_operation_name: 'chat', gen_ai_provider_name: 'anthropic', gen_ai_request_model: 'claude-sonnet-4-5', gen_ai_response_model: 'claude-sonnet-4-5-20250929', provider: 'anthropic' };
    assert.equal(await value(m, 'gen_ai_server_request_duration_seconds_sum', { ...labels, error_type: '' }), 2.3);
    assert.equal(await value(m, 'gen_ai_client_token_usage_sum', { ...labels, gen_ai_token_type: 'input' }), 120);
    assert.equal(await value(m, 'gen_ai_client_token_usage_sum', { ...labels, gen_ai_token_type: 'output' }), 11);
    assert.equal(await value(m, 'gen_ai_client_token_usage_bucket', { ...labels, gen_ai_token_type: 'input', le: '256' }), 1, 'the conventions\' buckets: 120 tokens in le=256');
    assert.equal(await value(m, 'gen_ai_client_token_usage_bucket', { ...labels, gen_ai_token_type: 'input', le: '64' }), 0);
    assert.equal(await value(m, 'gen_ai_server_time_to_first_token_seconds_sum', labels), 0.25);
    assert.equal(await value(m, 'gen_ai_server_time_per_output_token_seconds_sum', labels), 0.1, '(2250 − 1250) ms / 10 tokens');
  });

  test('Gemini is gcp.gemini; a JSON answer has no TTFT; a failed request carries its status as error_type', async () => {
    const m = new GatewayMetrics();
    const ok = exchange('gemini-2.5-flash', 1);
    ok.lastAttempt!.status = 200;
    ok.usage = { promptTokens: 5, completionTokens: 7 };
    recordExchangeMetrics(m, { ex: ok, outcome: 'completed', latencyMs: 100, cacheHit: false, endedAtMonoMs: 2000 });
    const failed = exchange('gemini-2.5-flash', 1);
    failed.lastAttempt!.status = 503;
    failed.status = 503;
    recordExchangeMetrics(m, { ex: failed, outcome: 'failed', latencyMs: 50, cacheHit: false, endedAtMonoMs: 2000 });
    assert.equal(await value(m, 'gen_ai_server_request_duration_seconds_count', { gen_ai_provider_name: 'gcp.gemini', error_type: '' }), 1);
    assert.equal(await value(m, 'gen_ai_server_request_duration_seconds_count', { gen_ai_provider_name: 'gcp.gemini', error_type: '503' }), 1);
    assert.equal(await value(m, 'gen_ai_server_time_to_first_token_seconds_count'), 0);
    assert.equal(await value(m, 'gen_ai_client_token_usage_count'), 2, 'input and output of the one answer with usage');
  });

  test('a cache hit is not a provider call: no GenAI series', async () => {
    const m = new GatewayMetrics();
    const ex = exchange('gpt-4o-mini', 0);
    ex.usage = { promptTokens: 9, completionTokens: 9 };
    recordExchangeMetrics(m, { ex, outcome: 'completed', latencyMs: 3, cacheHit: true, endedAtMonoMs: 0 });
    assert.equal(await value(m, 'gen_ai_client_token_usage_count'), 0);
    assert.equal(await value(m, 'gen_ai_server_request_duration_seconds_count'), 0);
  });
});

describe("the gateway's own series (exchange-metrics.ts)", () => {
  test('a failover: answered (2xx) by a target other than the first', async () => {
    const m = new GatewayMetrics();
    const ex = exchange('gpt-4o-mini', 2);
    ex.lastAttempt!.status = 200;
    recordExchangeMetrics(m, { ex, outcome: 'completed', latencyMs: 10, cacheHit: false, endedAtMonoMs: 0 });
    const same = exchange('gpt-4o-mini', 1);
    same.lastAttempt!.status = 200;
    recordExchangeMetrics(m, { ex: same, outcome: 'completed', latencyMs: 10, cacheHit: false, endedAtMonoMs: 0 });
    const bothFailed = exchange('gpt-4o-mini', 2);
    bothFailed.lastAttempt!.status = 500;
    recordExchangeMetrics(m, { ex: bothFailed, outcome: 'failed', latencyMs: 10, cacheHit: false, endedAtMonoMs: 0 });
    assert.equal(await value(m, 'gateway_failovers_total'), 1);
    assert.equal(await value(m, 'gateway_failovers_total', { model: 'gpt-4o-mini', provider: 'openai-backup', first_provider: 'openai-primary' }), 1);
  });

  test('refusals by kind, only when nothing went upstream (a provider 429 is not a refusal)', async () => {
    const m = new GatewayMetrics();
    for (const code of ['rate_limit_exceeded', 'budget_exceeded', 'provider_capacity_exhausted', 'no_target_meets_constraints', 'state_unavailable', 'model_not_permitted']) {
      const ex = exchange('gpt-4o-mini', 0);
      ex.errorCode = code;
      recordExchangeMetrics(m, { ex, outcome: 'failed', latencyMs: 1, cacheHit: false, endedAtMonoMs: 0 });
    }
    const upstream429 = exchange('gpt-4o-mini', 1);
    upstream429.lastAttempt!.status = 429;
    upstream429.errorCode = 'rate_limit_exceeded';
    recordExchangeMetrics(m, { ex: upstream429, outcome: 'failed', latencyMs: 1, cacheHit: false, endedAtMonoMs: 0 });
    for (const kind of ['rate_limit', 'budget', 'provider_capacity', 'routing_constraints', 'state_unavailable']) {
      assert.equal(await value(m, 'gateway_refusals_total', { kind, model: 'gpt-4o-mini', team: 'research' }), 1, kind);
    }
    assert.equal(await value(m, 'gateway_refusals_total'), 5, 'a scope refusal is not a limit; the provider 429 went upstream');
  });

  test('the team label is bounded: past max distinct teams, new ones are _other', () => {
    const teams = new BoundedLabel(2);
    assert.equal(teams.of('a'), 'a');
    assert.equal(teams.of('b'), 'b');
    assert.equal(teams.of('c'), '_other');
    assert.equal(teams.of('a'), 'a', 'a team seen before keeps its label');
    assert.throws(() => new BoundedLabel(0), RangeError);
  });
});

describe('scrape-time gauges (runtime-gauges.ts)', () => {
  test('the price table age and last refresh: no series before the first refresh; a failed refresh keeps the last good time', async () => {
    const m = new GatewayMetrics();
    assert.doesNotMatch(await m.registry.metrics(), /^gateway_price_table_(age|last_refresh_timestamp)/m, 'no series before the first refresh');
    const at = Date.now() - 7_200_000;
    m.priceRefreshed('ok', at);
    m.priceRefreshed('failed');
    assert.equal(await value(m, 'gateway_price_table_last_refresh_timestamp_seconds'), at / 1000);
    const age = await value(m, 'gateway_price_table_age_seconds');
    assert.ok(age >= 7200 && age < 7260, `age ${age} s`);
    assert.equal(await value(m, 'gateway_price_refreshes_total', { result: 'failed' }), 1);
    assert.equal(await value(m, 'gateway_price_refreshes_total', { result: 'ok' }), 1);
  });

  test('with a price source the age exists from the install of the table in force, before any refresh succeeds; without one, no series', async () => {
    const m = new GatewayMetrics();
    const startedAt = Date.now() - 4 * 3_600_000;
    m.priceTableInstalled(startedAt); // pricing.source set: the bundled table, loaded at the start
    m.priceRefreshed('failed');
    assert.equal(await value(m, 'gateway_price_table_last_refresh_timestamp_seconds'), startedAt / 1000, 'GatewayPriceTableStale can fire');
    assert.ok((await value(m, 'gateway_price_table_age_seconds')) >= 4 * 3600);
    assert.equal(await value(m, 'gateway_price_refreshes_total', { result: 'ok' }), 0, 'installing is not a refresh');
    m.priceTableInstalled(undefined); // pricing.source removed
    assert.doesNotMatch(await m.registry.metrics(), /^gateway_price_table_(age|last_refresh_timestamp)_seconds /m);
  });

  test("model SLAs from the config in force (models and aliases that set latencySlaMs); Redis health only on a Redis backend", async () => {
    const m = new GatewayMetrics();
    const state = { backend: 'redis', isReady: () => false, commandErrors: new Map([['reserve', 3]]) };
    m.sources = { config: () => config, state: state as never };
    assert.equal(await value(m, 'gateway_model_latency_sla_seconds', { model: 'chat-fastest' }), 5, 'the demo config: latencySlaMs 5000');
    assert.doesNotMatch(await m.registry.metrics(), /gateway_model_latency_sla_seconds\{model="gpt-4o-mini"\}/);
    assert.match(await m.registry.metrics(), /^gateway_redis_up\{mode="single"\} 0$/m);
    assert.equal(await value(m, 'gateway_redis_command_errors_total', { operation: 'reserve' }), 3);
    m.sources = { config: () => config, state: { backend: 'embedded', isReady: () => true } as never };
    assert.doesNotMatch(await m.registry.metrics(), /^gateway_redis_up[{ ]/m, 'no series on the embedded backend');
  });
});
