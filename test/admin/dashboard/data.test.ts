import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry, Histogram } from 'prom-client';
import { GatewayMetrics } from '../../../src/metrics/metrics.ts';
import { dashboardData } from '../../../src/admin/dashboard/data.ts';
import { bucketQuantile, MetricView } from '../../../src/admin/dashboard/metric-view.ts';
import { RecentRequests } from '../../../src/observability/recent-requests.ts';
import type { SpendBucket, SpendHistoryStore } from '../../../src/state/spend-history.ts';
import type { RuntimeConfig } from '../../../src/config/runtime.ts';
import type { StateStore } from '../../../src/state/store.ts';

const HOUR = 3_600_000;
const NOW = Date.parse('2026-11-30T14:30:00Z');

function spendStore(buckets: SpendBucket[]): SpendHistoryStore {
  return {
    addSpendHistory: async () => undefined,
    readSpendHistory: async (from, to) => buckets.filter((b) => b.hour >= from && b.hour < to).sort((a, b) => a.hour - b.hour),
  };
}

describe('dashboard: histogram quantiles', () => {
  it('interpolates inside the bucket the rank falls in, as Prometheus histogram_quantile does', () => {
    // 10 observations: 4 ≤ 0.1, 4 in (0.1, 0.2], 2 in (0.2, 0.4].
    const b: Array<[number, number]> = [[0.1, 4], [0.2, 8], [0.4, 10], [Infinity, 10]];
    assert.equal(bucketQuantile(0.5, b), 0.1 + 0.1 * (5 - 4) / 4);
    assert.equal(bucketQuantile(0.2, b), 0.1 * 2 / 4, 'the first bucket starts at 0');
    assert.ok(Math.abs(bucketQuantile(0.99, b)! - (0.2 + 0.2 * (9.9 - 8) / 2)) < 1e-12);
    assert.equal(bucketQuantile(0.99, [[0.1, 0], [0.2, 0], [Infinity, 3]]), 0.2, 'in +Inf: the largest finite bound');
    assert.equal(bucketQuantile(0.5, [[0.1, 0], [Infinity, 0]]), undefined, 'no observations');
  });

  it('sums buckets across series before the quantile (sum by (le))', async () => {
    const registry = new Registry();
    const h = new Histogram({ name: 'd_seconds', help: 'x', labelNames: ['provider', 'model'], buckets: [0.1, 0.2, 0.4], registers: [registry] });
    for (const v of [0.05, 0.05, 0.15]) h.observe({ provider: 'a', model: 'm1' }, v);
    for (const v of [0.15, 0.3]) h.observe({ provider: 'a', model: 'm2' }, v);
    h.observe({ provider: 'b', model: 'm1' }, 0.35);
    const view = await MetricView.scrape(registry);
    // provider a: 2 ≤ 0.1, 2 in (0.1, 0.2], 1 in (0.2, 0.4] → rank 2.5 in the second bucket.
    assert.ok(Math.abs(view.quantile('d_seconds', 0.5, { provider: 'a' })! - 0.125) < 1e-12);
    assert.equal(view.sum('d_seconds_count', { provider: 'a' }), 5);
    assert.deepEqual(Object.fromEntries(view.sumBy('d_seconds_count', 'provider')), { a: 5, b: 1 });
  });
});

describe('dashboard: GET /admin/dashboard/data', () => {
  it('reads totals from the metrics registry, budgets from its gauges, spend from the history', async () => {
    const m = new GatewayMetrics();
    m.cost.inc({ model: 'gpt-4o-mini', provider: 'openai-primary', team: 'demo' }, 0.0001);
    m.cost.inc({ model: 'claude', provider: 'anthropic', team: 'research' }, 0.0002);
    m.tokens.inc({ model: 'gpt-4o-mini', direction: 'input' }, 10);
    m.tokens.inc({ model: 'gpt-4o-mini', direction: 'output' }, 30);
    m.requests.inc({ model: 'gpt-4o-mini', provider: 'openai-primary', status: '200', stream: 'false', outcome: 'completed' }, 3);
    m.cacheRequests.inc({ model: 'gpt-4o-mini', team: 'demo', result: 'hit' });
    m.cacheRequests.inc({ model: 'gpt-4o-mini', team: 'demo', result: 'miss' }, 3);
    m.cacheSavedCost.inc({ model: 'gpt-4o-mini', team: 'demo' }, 0.00002);
    // Copied into gateway_upstream_attempt_outcomes_total at scrape time (metrics.ts).
    m.attemptOutcomeCounts.set('ok openai-primary/gpt-4o-mini', { labels: { provider: 'openai-primary', model: 'gpt-4o-mini', result: 'ok' }, count: 3 });
    m.attemptOutcomeCounts.set('error openai-primary/gpt-4o-mini', { labels: { provider: 'openai-primary', model: 'gpt-4o-mini', result: 'error' }, count: 1 });
    // The budget gauges read gateway.yaml's team budgets and the state backend at scrape time.
    m.sources = {
      config: () => ({ models: new Map(), aliases: new Map(), budgets: { rules: [{ scope: 'team', subject: 'team:research', period: 'month', limitNanoUsd: 1e9 }] } }) as unknown as RuntimeConfig,
      state: { backend: 'embedded', spent: async () => 250_000_000 } as unknown as StateStore,
    };
    m.breakerState.set({ provider: 'anthropic', model: 'claude' }, 2);
    const hour = Math.floor(NOW / HOUR) * HOUR;
    const spend = spendStore([
      { hour, team: 'demo', provider: 'openai-primary', model: 'gpt-4o-mini', requests: 3, tokensIn: 10, tokensOut: 30, tokensCached: 0, nanoUsd: 100_000 },
      { hour: hour - HOUR, team: 'research', provider: 'anthropic', model: 'claude', requests: 1, tokensIn: 5, tokensOut: 5, tokensCached: 0, nanoUsd: 200_000 },
    ]);
    const recent = new RecentRequests(10);
    recent.add({ request_id: 'r1', team: 'demo', prompt: 'secret question', completion: 'answer', tokens_in: 10 });
    const d = (await dashboardData({ registry: m.registry, spend, recent, now: () => NOW })) as Record<string, any>;
    assert.equal(d.totals.costUsd, 0.0001 + 0.0002);
    assert.equal(d.totals.tokensIn, 10);
    assert.equal(d.totals.tokensOut, 30);
    assert.equal(d.totals.requests, 3);
    assert.deepEqual([d.totals.cacheHits, d.totals.cacheLookups, d.totals.cacheSavedUsd], [1, 4, 0.00002]);
    const primary = d.providers.find((p: { provider: string }) => p.provider === 'openai-primary');
    assert.deepEqual([primary.attempts, primary.attemptErrors, primary.errorRate, primary.costUsd], [4, 1, 0.25, 0.0001]);
    assert.equal(primary.p50Ms, null, 'no duration observed');
    assert.deepEqual(d.tokensByModel, [{ model: 'gpt-4o-mini', input: 10, output: 30 }]);
    assert.deepEqual(d.breakers, [{ provider: 'anthropic', model: 'claude', state: 'open' }], 'without target health: the gauge');
    assert.deepEqual(d.budgets, [{ team: 'research', period: 'month', limitUsd: 1, spentUsd: 0.25, remainingUsd: 0.75 }]);
    assert.deepEqual(d.spendByTeam.data.map((r: { team: string; cost_usd: number }) => [r.team, r.cost_usd]), [['research', 0.0002], ['demo', 0.0001]]);
    assert.deepEqual(d.spendByProvider.group_by, ['provider']);
    assert.equal(d.prices, null);
    assert.deepEqual(d.recent.map((l: Record<string, unknown>) => [l['request_id'], l['prompt'], l['completion']]), [['r1', undefined, undefined]], 'no content kept');
  });
});

describe('dashboard: recent requests', () => {
  it('keeps the last N lines, newest first', () => {
    const r = new RecentRequests(3);
    for (let i = 1; i <= 5; i++) r.add({ request_id: `r${i}` }, NOW + i);
    assert.deepEqual(r.list().map((l) => l['request_id']), ['r5', 'r4', 'r3']);
    assert.deepEqual(r.list(2).map((l) => l['request_id']), ['r5', 'r4']);
    assert.equal(r.list()[0]!['time'], new Date(NOW + 5).toISOString());
  });
});
