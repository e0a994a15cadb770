import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { parse } from 'yaml';
import { demoSupportKey } from '../../src/cli/stack.ts';
import { waitUntil } from '../../src/lib/wait-until.ts';
import { startTestStack, type TestStack } from '../support/e2e.ts';
import { startRedis, type TestRedis } from '../support/redis-server.ts';
import { demoConfigWithoutPolicies } from '../support/unit/config.ts';
import { withNeutralHealth } from '../support/neutral-health.ts';

/**
 * /metrics after real traffic through Envoy (issue 10, items 1 and 2): the demo config on a real
 * redis-server, the openai SDK as the caller (JSON, streams, a cache hit, a failover, a rate-limit
 * refusal), then the scrape must agree with the request log: tokens and cost equal the sums of
 * the log lines, per team; the GenAI convention histograms count what was served; the gauges
 * (SLA, budget, Redis) show the config and the store. Envoy's own stats the alert rules read
 * (ops/prometheus/alerts.yml) are checked to exist and to move when the ext_proc is stopped.
 */
const POLICIES = `
rateLimits:
  teams:
    support:
      limits: { requestsPerMinute: 3 }
budgets:
  teams:
    demo:
      budget: { limitUsd: 5 }
`;
const ALERTS = path.resolve(import.meta.dirname, '../../ops/prometheus/alerts.yml');

type Line = Record<string, unknown>;

describe('/metrics after real traffic (e2e)', () => {
  let redis: TestRedis;
  let dir: string;
  let gw: TestStack;
  let demo: OpenAI;
  let support: OpenAI;
  /** The x-request-id of every request sent, for its log line. */
  const ids: string[] = [];
  let lines: Line[] = [];

  const scrape = async (): Promise<string> => (await fetch(`http://127.0.0.1:${gw.metricsPort}/metrics`)).text();
  const envoyStats = async (): Promise<string> => (await fetch(`${gw.adminUrl}/stats/prometheus`)).text();
  const sum = (of: Line[], field: string): number => of.reduce((s, l) => s + (typeof l[field] === 'number' ? (l[field] as number) : 0), 0);
  const near = (actual: number, expected: number, what: string): void => assert.ok(Math.abs(actual - expected) <= 1e-12 + 1e-9 * Math.abs(expected), `${what}: ${actual} vs ${expected}`);
  /** Lines of requests a provider served (not the cache, not refused). */
  const served = (): Line[] => lines.filter((l) => typeof l['provider'] === 'string' && !['', 'cache', 'envoy'].includes(l['provider'] as string) && l['probe'] !== true);

  before(async () => {
    redis = await startRedis();
    dir = mkdtempSync(path.join(tmpdir(), 'llmx-metrics-e2e-'));
    const source = path.join(dir, 'gateway.source.yaml');
    writeFileSync(source, demoConfigWithoutPolicies() + POLICIES);
    gw = await startTestStack({ configFile: withNeutralHealth(dir, source), env: { REDIS_URL: redis.url } });
    demo = gw.client();
    support = gw.client({ apiKey: demoSupportKey(gw.demoKey) });
    const hello = [{ role: 'user' as const, content: 'Hello there' }];
    const json = async (c: OpenAI, body: OpenAI.ChatCompletionCreateParamsNonStreaming): Promise<void> => {
      const { response } = await c.chat.completions.create(body).withResponse();
      ids.push(response.headers.get('x-request-id')!);
    };
    const stream = async (model: string): Promise<void> => {
      const { data, response } = await demo.chat.completions.create({ model, messages: hello, stream: true, stream_options: { include_usage: true } }).withResponse();
      for await (const _ of data);
      ids.push(response.headers.get('x-request-id')!);
    };
    await json(demo, { model: 'gpt-4o-mini', messages: hello });
    await json(demo, { model: 'claude-sonnet-4-5', messages: hello });
    // The same deterministic request twice: a miss, then a hit (no provider call, cost 0).
    await json(demo, { model: 'gpt-4o-mini', messages: hello, temperature: 0, max_tokens: 20 });
    await json(demo, { model: 'gpt-4o-mini', messages: hello, temperature: 0, max_tokens: 20 });
    await stream('claude-sonnet-4-5');
    await stream('gemini-2.5-flash');
    // The primary answers 503: Envoy fails over to the backup.
    gw.sims['openai-primary']!.enqueueFault({ status: 503 });
    await json(demo, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'failover please' }] });
    for (let i = 0; i < 3; i++) await json(support, { model: 'gpt-4o-mini', messages: hello });
    // The support team's fourth request within the minute: refused by its rate limit.
    const refused = await support.chat.completions.create({ model: 'gpt-4o-mini', messages: hello }).catch((e: unknown) => e);
    assert.ok(refused instanceof OpenAI.RateLimitError, 'the fourth request of the minute is refused');
    ids.push(refused.headers!.get('x-request-id')!);
    for (const id of ids) await gw.requestLog(id);
    lines = gw.logLines().filter((l) => l['msg'] === 'request' && ids.includes(l['request_id'] as string));
    assert.equal(lines.length, ids.length);
  });
  after(async () => {
    await gw?.dispose();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('tokens: the GenAI histogram and gateway_tokens_total equal the sums of the log lines', async () => {
    const s = served();
    assert.equal(s.length, 9, 'two JSON, a cache miss, two streams, a failover, three for support');
    for (const [type, field] of [['input', 'tokens_in'], ['output', 'tokens_out']] as const) {
      const logged = sum(s, field);
      assert.ok(logged > 0);
      assert.equal(await gw.metric('gen_ai_client_token_usage_sum', { gen_ai_token_type: type, gen_ai_operation_name: 'chat' }), logged, `gen_ai_client_token_usage_sum ${type}`);
      assert.equal(await gw.metric('gateway_tokens_total', { direction: type }), logged, `gateway_tokens_total ${type} (kept)`);
      assert.equal(await gw.metric('gen_ai_client_token_usage_count', { gen_ai_token_type: type }), s.length, 'one observation per served request');
    }
    const claude = s.filter((l) => l['model'] === 'claude-sonnet-4-5');
    assert.equal(
      await gw.metric('gen_ai_client_token_usage_sum', { gen_ai_token_type: 'output', gen_ai_provider_name: 'anthropic', gen_ai_request_model: 'claude-sonnet-4-5', gen_ai_response_model: 'claude-sonnet-4-5-20250929', provider: 'anthropic' }),
      sum(claude, 'tokens_out'),
    );
  });

  it('cost: gateway_cost_usd_total per team equals the log lines\' cost_usd; the team budget gauge reads the same spend from Redis', async () => {
    for (const team of ['demo', 'support']) {
      const logged = sum(lines.filter((l) => l['team'] === team), 'cost_usd');
      assert.ok(logged > 0, `${team} spent something`);
      near(await gw.metric('gateway_cost_usd_total', { team }), logged, `cost of team ${team}`);
    }
    near(await gw.metric('gateway_cost_usd_total', {}), sum(lines, 'cost_usd'), 'all cost');
    assert.equal(await gw.metric('gateway_budget_limit_usd', { team: 'demo', period: 'month' }), 5);
    const demoSpend = sum(lines.filter((l) => l['team'] === 'demo'), 'cost_usd');
    // Settlement is written after the log line; the gauge reads the store at scrape time.
    await waitUntil('the demo budget gauge to show the settled spend', async () => Math.abs((await gw.metric('gateway_budget_spent_usd', { team: 'demo' })) - demoSpend) < 1e-9, 5000);
  });

  it('GenAI durations, TTFT and TPOT count what was served; provider names follow the conventions', async () => {
    const s = served();
    assert.equal(await gw.metric('gen_ai_server_request_duration_seconds_count', { error_type: '' }), s.length);
    assert.equal(await gw.metric('gen_ai_server_request_duration_seconds_count', { gen_ai_provider_name: 'gcp.gemini', gen_ai_request_model: 'gemini-2.5-flash' }), 1);
    const streams = s.filter((l) => l['stream'] === true);
    assert.equal(streams.length, 2);
    assert.equal(await gw.metric('gen_ai_server_time_to_first_token_seconds_count', {}), 2, 'completed streams only');
    assert.equal(await gw.metric('gen_ai_server_time_to_first_token_seconds_count', { gen_ai_provider_name: 'anthropic' }), 1);
    assert.equal(await gw.metric('gen_ai_server_time_per_output_token_seconds_count', {}), streams.filter((l) => (l['tokens_out'] as number) >= 2).length);
    const ttftSum = await gw.metric('gen_ai_server_time_to_first_token_seconds_sum', {});
    assert.ok(ttftSum > 0 && ttftSum < (sum(streams, 'latency_ms') / 1000), 'the first token came before the end');
  });

  it("failovers, refusals, the cache hit, the SLA gauge and Redis health", async () => {
    const failover = served().find((l) => l['provider'] === 'openai-backup');
    assert.ok(failover, 'the failover request was served by the backup');
    assert.equal(failover['attempts'], 2);
    assert.equal(await gw.metric('gateway_failovers_total', { model: 'gpt-4o-mini', provider: 'openai-backup', first_provider: 'openai-primary' }), 1);
    assert.equal(await gw.metric('gateway_failovers_total', {}), 1);
    assert.equal(await gw.metric('gateway_refusals_total', { kind: 'rate_limit', model: 'gpt-4o-mini', team: 'support' }), 1);
    assert.equal(await gw.metric('gateway_refusals_total', {}), 1);
    assert.equal(await gw.metric('gateway_cache_requests_total', { result: 'hit', team: 'demo' }), 1);
    assert.equal(await gw.metric('gateway_requests_total', { outcome: 'completed' }), lines.filter((l) => l['outcome'] === 'completed').length, 'the existing series is kept');
    assert.equal(await gw.metric('gateway_model_latency_sla_seconds', { model: 'chat-fastest' }), 5, 'the demo config: latencySlaMs 5000');
    assert.equal(await gw.metric('gateway_redis_up', { mode: 'single' }), 1);
    const text = await scrape();
    for (const l of lines) assert.ok(!text.includes(l['request_id'] as string), 'no request id in a label');
    assert.ok(!text.includes(gw.demoKey), 'no key in a label');
  });

  it('every series the alert rules read exists: the gateway\'s in /metrics, Envoy\'s in its /stats/prometheus', async () => {
    const doc = parse(readFileSync(ALERTS, 'utf8')) as { groups: Array<{ rules: Array<{ expr: string }> }> };
    // Metric names in the expressions: not label names (in by/on/without lists, before a matcher) nor strings.
    const exprs = doc.groups.flatMap((g) => g.rules.map((r) => r.expr.replace(/"[^"]*"/g, '""').replace(/\b(by|on|without|ignoring) \([^)]*\)/g, '')));
    const names = new Set(exprs.flatMap((e) => [...e.matchAll(/\b((?:gateway|gen_ai|envoy)_[a-z0-9_]+)\b(?!\s*[=!]~?)/g)].map((m) => m[1]!)));
    assert.ok(names.size >= 10, [...names].join(', '));
    const have = `${await scrape()}\n${await envoyStats()}`;
    // Series that exist only after their event: a live price refresh (GatewayMetrics.priceRefreshed,
    // test/metrics covers them) and a breaker changing state (this stack's health never reroutes).
    const afterRefresh = new Set(['gateway_price_table_last_refresh_timestamp_seconds', 'gateway_price_refreshes_total', 'gateway_breaker_state', 'gateway_breaker_transitions_total']);
    const missing = [...names].filter((n) => !afterRefresh.has(n) && !new RegExp(`^${n}[{ ]`, 'm').test(have) && !new RegExp(`^${n}_bucket[{ ]`, 'm').test(have) && !n.endsWith('_bucket'));
    const missingBuckets = [...names].filter((n) => n.endsWith('_bucket') && !new RegExp(`^${n}[{ ]`, 'm').test(have));
    assert.deepEqual([...missing, ...missingBuckets], [], 'series named in ops/prometheus/alerts.yml');
  });

  it('the ext_proc stopped: Envoy counts failed ext_proc streams (GatewayExtProcUnreachable), callers get 503 gateway_unavailable', async () => {
    const failed = async (): Promise<number> => {
      const m = /^envoy_http_ext_proc_streams_failed\{envoy_http_conn_manager_prefix="llm"\} (\d+)$/m.exec(await envoyStats());
      return Number(m?.[1] ?? Number.NaN);
    };
    const before = await failed();
    assert.equal(before, 0);
    await gw.stopExtproc();
    try {
      for (let i = 0; i < 3; i++) {
        const err = await demo.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
        assert.ok(err instanceof OpenAI.APIError && err.status === 503, 'fails closed');
        assert.equal((err.error as { code?: string }).code, 'gateway_unavailable');
      }
      assert.equal(await failed(), 3, 'one failed ext_proc stream per refused request');
    } finally {
      await gw.startExtproc();
    }
  });
});
