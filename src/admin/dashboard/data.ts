import type { Registry } from 'prom-client';
import type { RecentRequests } from '../../observability/recent-requests.ts';
import type { SpendHistoryStore } from '../../state/spend-history.ts';
import type { RuntimeConfig } from '../../config/runtime.ts';
import type { HealthView } from '../../routing/health/view.ts';
import { priceTable, type PriceTableOptions, type PriceTableView } from '../price-table.ts';
import { readSpend } from '../spend-history.ts';
import { MetricView } from './metric-view.ts';
import { StateUnavailableError } from '../../state/errors.ts';

/** What `GET /admin/dashboard/data` reads. */
export interface DashboardDataOptions {
  /** The gateway's prom-client registry: the values `/metrics` shows, read through the same collectors. */
  readonly registry: Registry;
  /** The fleet's hourly spend (state backend; GET /admin/spend reads the same). */
  readonly spend: SpendHistoryStore;
  /** This replica's last request log lines. */
  readonly recent: RecentRequests;
  /** The price table (GET /admin/prices); absent: `prices` is null. */
  readonly prices?: PriceTableOptions;
  /** The config in force (its targets) and target health (their breakers); absent: breakers from gateway_breaker_state only. */
  readonly config?: () => RuntimeConfig;
  readonly health?: () => HealthView | undefined;
  readonly now?: () => number;
  /** Called when the spend read fails with the state backend down (the answer then degrades, see dashboardData). */
  readonly onStateFault?: (err: StateUnavailableError) => void;
}

/** Failed attempts as the provider error-rate alert counts them (ops/prometheus/alerts.yml, GatewayProviderErrorRate). */
const ERROR_RESULTS = new Set(['error', 'timeout', 'reset']);
const BREAKER_STATES = ['closed', 'half-open', 'open'] as const;

/**
 * `GET /admin/dashboard/data`: everything the dashboard draws, in one JSON answer (`object:
 * "gateway.dashboard"`). Counters and histograms are read from the metrics registry (since the
 * ext_proc started, this replica), so each figure is the one `/metrics` shows at that moment:
 *
 * - `totals`: `requests` (Σ gateway_requests_total{model!=""}: requests for a configured model),
 *   `otherRequests` (Σ gateway_requests_total{model=""}: GET /v1/models, requests refused before
 *   a model was chosen: bad key, unknown path, unknown or out-of-scope model), `costUsd` (Σ gateway_cost_usd_total, USD),
 *   `tokensIn`/`tokensOut` (gateway_tokens_total by direction, tokens), `cacheHits`,
 *   `cacheLookups` (hit + miss of gateway_cache_requests_total), `cacheSavedUsd`, `cacheSavedTokens`
 * - `providers[]`: per gateway.yaml provider, `requests` (gen_ai_server_request_duration_seconds
 *   count), `p50Ms`/`p99Ms` (histogram_quantile of it, ms; null without traffic), `attempts` and
 *   `attemptErrors` (gateway_upstream_attempt_outcomes_total; errors: error, timeout, reset),
 *   `errorRate` (0–1), `costUsd`, `tokensIn`/`tokensOut` (gen_ai_client_token_usage sums)
 * - `tokensByModel[]`: {model, input, output} from gateway_tokens_total
 * - `cache`: {hit, miss, bypass} request counts (gateway_cache_requests_total)
 * - `breakers[]`: {provider, model, state: closed|half-open|open} per configured target, from
 *   target health (what routing reads; gateway_breaker_state is set from the same at each change,
 *   so it has series only for targets whose breaker moved)
 * - `budgets[]`: {team, period, limitUsd, spentUsd, remainingUsd} (gateway_budget_*_usd: the state backend's figure)
 * - `spendByTeam`, `spendByProvider`: GET /admin/spend's answer for the last 24 h by team and by
 *   provider (hourly; the fleet's figures, from the state backend)
 * - `prices`: GET /admin/prices's answer; `recent`: the last 50 request log lines that name a
 *   model (no content; the model list and requests refused before a model are in `otherRequests`)
 * - `stateUnavailable`: true when the state backend did not answer; then `spendByTeam`,
 *   `spendByProvider` and `budgets` are null (the budget gauges may hold stale values) and every
 *   local figure is still there. Other errors propagate (a 500).
 */
export async function dashboardData(opts: DashboardDataOptions): Promise<Record<string, unknown>> {
  const now = (opts.now ?? Date.now)();
  const m = await MetricView.scrape(opts.registry);
  const tokens = m.sumBy('gateway_tokens_total', 'direction');
  const cache = m.sumBy('gateway_cache_requests_total', 'result');
  const providerNames = new Set<string>([
    ...m.sumBy('gen_ai_server_request_duration_seconds_count', 'provider').keys(),
    ...m.sumBy('gateway_upstream_attempt_outcomes_total', 'provider').keys(),
  ]);
  const costByProvider = m.sumBy('gateway_cost_usd_total', 'provider');
  const providers = [...providerNames].filter((p) => p !== '').sort().map((provider) => {
    const attempts = m.sumBy('gateway_upstream_attempt_outcomes_total', 'result', { provider });
    const total = [...attempts.values()].reduce((a, b) => a + b, 0);
    const errors = [...attempts].filter(([r]) => ERROR_RESULTS.has(r)).reduce((a, [, n]) => a + n, 0);
    const ms = (q: number): number | null => {
      const s = m.quantile('gen_ai_server_request_duration_seconds', q, { provider });
      return s === undefined ? null : Math.round(s * 1e6) / 1e3;
    };
    return {
      provider,
      requests: m.sum('gen_ai_server_request_duration_seconds_count', { provider }),
      p50Ms: ms(0.5),
      p99Ms: ms(0.99),
      attempts: total,
      attemptErrors: errors,
      errorRate: total === 0 ? 0 : errors / total,
      costUsd: costByProvider.get(provider) ?? 0,
      tokensIn: m.sum('gen_ai_client_token_usage_sum', { provider, gen_ai_token_type: 'input' }),
      tokensOut: m.sum('gen_ai_client_token_usage_sum', { provider, gen_ai_token_type: 'output' }),
    };
  });
  const models = new Set(m.samples('gateway_tokens_total').map((s) => String(s.labels['model'])));
  const spentGauge = m.samples('gateway_budget_spent_usd');
  const budgetRows = m.samples('gateway_budget_limit_usd').map((l) => {
    const team = String(l.labels['team']);
    const period = String(l.labels['period']);
    const spent = spentGauge.find((s) => s.labels['team'] === team && s.labels['period'] === period)?.value ?? null;
    return { team, period, limitUsd: l.value, spentUsd: spent, remainingUsd: spent === null ? null : Math.max(0, l.value - spent) };
  });
  const spend = (groupBy: string) => readSpend({ store: opts.spend, now: () => now }, new URLSearchParams({ groupBy }));
  let spendByTeam: Record<string, unknown> | null = null;
  let spendByProvider: Record<string, unknown> | null = null;
  let stateUnavailable = false;
  try {
    [spendByTeam, spendByProvider] = await Promise.all([spend('team'), spend('provider')]);
  } catch (err) {
    if (!(err instanceof StateUnavailableError)) throw err;
    stateUnavailable = true;
    opts.onStateFault?.(err);
  }
  let prices: PriceTableView | null = null;
  if (opts.prices) prices = priceTable({ ...opts.prices, now: () => now });
  return {
    object: 'gateway.dashboard',
    generatedAt: new Date(now).toISOString(),
    totals: {
      // Requests for a configured model; the rest (GET /v1/models, refused before a model: bad key, unknown path or model) apart.
      requests: m.sum('gateway_requests_total') - m.sum('gateway_requests_total', { model: '' }),
      otherRequests: m.sum('gateway_requests_total', { model: '' }),
      costUsd: m.sum('gateway_cost_usd_total'),
      tokensIn: tokens.get('input') ?? 0,
      tokensOut: tokens.get('output') ?? 0,
      cacheHits: cache.get('hit') ?? 0,
      cacheLookups: (cache.get('hit') ?? 0) + (cache.get('miss') ?? 0),
      cacheSavedUsd: m.sum('gateway_cache_saved_cost_usd_total'),
      cacheSavedTokens: m.sum('gateway_cache_saved_tokens_total'),
    },
    providers,
    tokensByModel: [...models].sort().map((model) => ({
      model,
      input: m.sum('gateway_tokens_total', { model, direction: 'input' }),
      output: m.sum('gateway_tokens_total', { model, direction: 'output' }),
    })),
    cache: { hit: cache.get('hit') ?? 0, miss: cache.get('miss') ?? 0, bypass: cache.get('bypass') ?? 0 },
    breakers: breakers(m, opts, now),
    budgets: stateUnavailable ? null : budgetRows,
    spendByTeam,
    spendByProvider,
    prices,
    recent: opts.recent.list(50),
    stateUnavailable,
  };
}

/** Every configured target's breaker from target health, else the targets gateway_breaker_state has. */
function breakers(m: MetricView, opts: DashboardDataOptions, now: number): Array<{ provider: string; model: string; state: string }> {
  const health = opts.health?.();
  if (opts.config && health) {
    const seen = new Map<string, { provider: string; model: string }>();
    for (const model of opts.config().models.values()) for (const t of model.targets) seen.set(t.key, { provider: t.provider.name, model: t.model });
    return [...seen].sort(([a], [b]) => a.localeCompare(b)).map(([key, t]) => ({ ...t, state: health.get(key, now).breaker }));
  }
  return m.samples('gateway_breaker_state').map((s) => ({
    provider: String(s.labels['provider']),
    model: String(s.labels['model']),
    state: BREAKER_STATES[s.value] ?? String(s.value),
  }));
}
