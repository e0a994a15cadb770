import type { Counter, Gauge } from 'prom-client';
import type { RuntimeConfig } from '../config/runtime.ts';
import { periodAt } from '../policy/budget-period.ts';
import type { StateStore } from '../state/store.ts';

/** What the scrape-time gauges read (GatewayMetrics.sources, set by Gateway.start). */
export interface MetricSources {
  /** The config in force (hot-reloaded). */
  config(): RuntimeConfig;
  /** The state backend: budgets' spend, Redis health. */
  readonly state: StateStore;
}

/** A state store that counts its failed commands by operation (RedisStateStore.commandErrors). */
interface CountsCommandErrors {
  readonly commandErrors: ReadonlyMap<string, number>;
}

/** `gateway_model_latency_sla_seconds{model}`: every model and alias whose routing sets `latencySlaMs`. */
export function collectLatencySla(gauge: Gauge<'model'>, sources: MetricSources | undefined): void {
  gauge.reset();
  if (!sources) return;
  const cfg = sources.config();
  for (const models of [cfg.models, cfg.aliases]) {
    for (const [name, m] of models) {
      const sla = m.routing.latencySlaMs;
      if (sla !== undefined) gauge.set({ model: name }, sla / 1000);
    }
  }
}

/**
 * `gateway_budget_spent_usd` and `gateway_budget_limit_usd` per team budget of gateway.yaml
 * (`budgets.teams.<team>.budget`), for the period in force now (UTC). One `spent` read per team
 * budget per scrape. A budget the backend cannot read now keeps the last figure read for the same
 * period (`last`, keyed by team and period id, USD), so a budget alert stays firing through a
 * Redis outage instead of going silent (gateway_redis_up and its alert say the figure is stale);
 * with no figure yet for this period, no `spent` series.
 */
export async function collectBudgets(spent: Gauge<'team' | 'period'>, limit: Gauge<'team' | 'period'>, sources: MetricSources | undefined, last: Map<string, number> = new Map()): Promise<void> {
  spent.reset();
  limit.reset();
  if (!sources) return;
  const now = Date.now();
  const teams = sources.config().budgets.rules.filter((r) => r.scope === 'team');
  const current = new Set<string>();
  await Promise.all(
    teams.map(async (r) => {
      const team = r.subject.slice('team:'.length);
      const labels = { team, period: r.period };
      const periodId = periodAt(r.period, now).id;
      const key = `${team}\u0000${r.period}\u0000${periodId}`;
      current.add(key);
      limit.set(labels, r.limitNanoUsd / 1e9);
      try {
        const usd = (await sources.state.spent(team, r.subject, periodId)) / 1e9;
        last.set(key, usd);
        spent.set(labels, usd);
      } catch {
        // Redis down or slow: the last figure of this period, stale rather than absent.
        const kept = last.get(key);
        if (kept !== undefined) spent.set(labels, kept);
      }
    }),
  );
  // Past periods and removed budgets: forget (bounded by the budgets in force).
  for (const key of last.keys()) if (!current.has(key)) last.delete(key);
}

/** `gateway_redis_up`: the state backend's Redis connection ready (1) or not (0); no series on the embedded backend. */
export function collectRedisUp(up: Gauge<'mode'>, sources: MetricSources | undefined): void {
  up.reset();
  if (sources?.state.backend !== 'redis') return;
  const mode = (sources.state as { readonly mode?: string }).mode ?? 'single';
  up.set({ mode }, sources.state.isReady() ? 1 : 0);
}

/** `gateway_redis_command_errors_total{operation}`: copied from the store's own counts at scrape time. */
export function collectRedisErrors(errors: Counter<'operation'>, sources: MetricSources | undefined): void {
  const counted = (sources?.state as Partial<CountsCommandErrors> | undefined)?.commandErrors;
  if (!counted) return;
  errors.reset();
  for (const [operation, n] of counted) errors.inc({ operation }, n);
}

/** `gateway_price_table_age_seconds`: now − the last good refresh (GatewayMetrics.priceRefreshed). */
export function collectPriceAge(gauge: Gauge, lastOkAtMs: number | undefined): void {
  gauge.reset();
  if (lastOkAtMs !== undefined) gauge.set(Math.max(0, Date.now() - lastOkAtMs) / 1000);
}
