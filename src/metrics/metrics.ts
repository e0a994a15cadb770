import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { BoundedLabel } from './bounded-label.ts';
import { GenAiMetrics } from './gen-ai.ts';
import { collectBudgets, collectLatencySla, collectPriceAge, collectRedisErrors, collectRedisUp, type MetricSources } from './runtime-gauges.ts';

/** The single metrics registry; every metric name the gateway exports is defined here. */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'gateway_requests_total',
    help: 'Requests finished, by public model, provider that answered, status code, stream and outcome (completed, failed, aborted, rejected).',
    labelNames: ['model', 'provider', 'status', 'stream', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly attempts = new Counter({
    name: 'gateway_upstream_attempts_total',
    help: 'Upstream attempts started, by provider (retries and failovers included).',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });
  readonly tokens = new Counter({
    name: 'gateway_tokens_total',
    help: 'Tokens used, by public model and direction: the provider\'s counts, estimates where it sent none.',
    labelNames: ['model', 'direction'] as const,
    registers: [this.registry],
  });
  readonly tokensEstimated = new Counter({
    name: 'gateway_tokens_estimated_total',
    help: 'The part of gateway_tokens_total the gateway estimated (streams stopped before the provider counted), by public model and direction.',
    labelNames: ['model', 'direction'] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'gateway_request_duration_seconds',
    help: 'Time from request headers to the end of the response, as the router-level filter sees it.',
    labelNames: ['model', 'stream'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });
  readonly overhead = new Histogram({
    name: 'gateway_extproc_overhead_seconds',
    help: "Time spent in the gateway's own handlers per request (all phases, both filter positions).",
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025],
    registers: [this.registry],
  });
  readonly inFlight = new Gauge({
    name: 'gateway_exchanges_in_flight',
    help: 'Requests whose state is currently held.',
    registers: [this.registry],
  });
  readonly cost = new Counter({
    name: 'gateway_cost_usd_total',
    help: 'What requests cost in USD (provider-reported usage × the target\'s price, src/pricing/), by public model, the provider that served and the caller\'s team (bounded: teamLabel).',
    labelNames: ['model', 'provider', 'team'] as const,
    registers: [this.registry],
  });
  readonly anthropicThinking = new Counter({
    name: 'gateway_anthropic_thinking_total',
    help: 'Claude thinking across tool loops (src/policy/thinking-step.ts): restored, missing (thinking off for that request), lookup_failed, kept, too_large, keep_failed.',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly policyStateErrors = new Counter({
    name: 'gateway_policy_state_errors_total',
    help: 'Policy calls the state backend failed (src/policy/): by policy (rate-limit, budget, ...), state operation, and the configured failure mode (fail-open, fail-closed).',
    labelNames: ['policy', 'operation', 'mode'] as const,
    registers: [this.registry],
  });
  // The response cache (src/policy/response-cache/, names from CACHE_METRICS): labels `model` (public) and `team`.
  readonly cacheRequests = new Counter({
    name: 'gateway_cache_requests_total',
    help: 'Chat requests by response cache result (the x-gateway-cache value: hit, miss, bypass), public model and team.',
    labelNames: ['model', 'team', 'result'] as const,
    registers: [this.registry],
  });
  readonly cacheBypasses = new Counter({
    name: 'gateway_cache_bypass_total',
    help: 'Requests that did not read the response cache, by reason (disabled, not_deterministic, no_output_limit, no_store, no_cache, store_error, ...), public model and team.',
    labelNames: ['model', 'team', 'reason'] as const,
    registers: [this.registry],
  });
  readonly cacheSavedTokens = new Counter({
    name: 'gateway_cache_saved_tokens_total',
    help: 'Tokens that response cache hits did not spend (the stored answer\'s usage), by public model, team and type (input, output).',
    labelNames: ['model', 'team', 'type'] as const,
    registers: [this.registry],
  });
  readonly cacheSavedCost = new Counter({
    name: 'gateway_cache_saved_cost_usd_total',
    help: 'USD that response cache hits did not spend, at the model\'s current price, by public model and team.',
    labelNames: ['model', 'team'] as const,
    registers: [this.registry],
  });
  readonly cacheStores = new Counter({
    name: 'gateway_cache_stores_total',
    help: 'Answers written to the response cache, by public model and team.',
    labelNames: ['model', 'team'] as const,
    registers: [this.registry],
  });
  readonly cacheStoreSkipped = new Counter({
    name: 'gateway_cache_store_skipped_total',
    help: 'Answers eligible for the response cache but not written, by reason (upstream_error, truncated, content_filter, too_large, ...), public model and team.',
    labelNames: ['model', 'team', 'reason'] as const,
    registers: [this.registry],
  });
  readonly cacheStoreErrors = new Counter({
    name: 'gateway_cache_store_errors_total',
    help: 'Response cache store faults by operation (get, set); the cache fails open.',
    labelNames: ['op'] as const,
    registers: [this.registry],
  });
  // Target health (src/routing/health/): labels `provider` and `model` (the provider's model) come from gateway.yaml's targets only.
  /**
   * Counts behind `gateway_upstream_attempt_outcomes_total`, by `<result> <target key>`, copied
   * into the counter at scrape time: one plain increment per request on the hot path, where
   * prom-client's labelled `inc` hashes its labels on every call (~1 µs).
   */
  readonly attemptOutcomeCounts = new Map<string, { readonly labels: { provider: string; model: string; result: string }; count: number }>();
  readonly attemptOutcomes = new Counter({
    name: 'gateway_upstream_attempt_outcomes_total',
    help: "Upstream attempts as target health judged them (src/routing/health/outcome.ts), by provider, the provider's model and result (ok, error, timeout, reset, rate_limited, client_error): answers from the request path, failures from Envoy's upstream log.",
    labelNames: ['provider', 'model', 'result'] as const,
    registers: [this.registry],
    collect: () => {
      this.attemptOutcomes.reset();
      for (const { labels, count } of this.attemptOutcomeCounts.values()) this.attemptOutcomes.inc(labels, count);
    },
  });
  readonly breakerState = new Gauge({
    name: 'gateway_breaker_state',
    help: "Circuit breaker state per target (provider, the provider's model): 0 closed, 1 half-open, 2 open.",
    labelNames: ['provider', 'model'] as const,
    registers: [this.registry],
  });
  readonly breakerTransitions = new Counter({
    name: 'gateway_breaker_transitions_total',
    help: "Circuit breaker state changes per target, by the state entered (open, half-open, closed) and the rule concerned (latency, errors).",
    labelNames: ['provider', 'model', 'to', 'reason'] as const,
    registers: [this.registry],
  });
  readonly breakerAdoptions = new Counter({
    name: 'gateway_breaker_adopted_total',
    help: "Circuit breaker state changes this replica took from the fleet (fleet health over Redis) instead of deciding them; gateway_breaker_transitions_total counts only a replica's own decisions, so its sum over the fleet counts each change once.",
    labelNames: ['provider', 'model', 'to', 'reason'] as const,
    registers: [this.registry],
  });
  readonly healthProbes = new Counter({
    name: 'gateway_health_probes_total',
    help: 'Active probes of idle targets (routing.health.probes), by target (provider/model) and outcome: ok, error (answered non-2xx), unreachable (the gateway\'s Envoy listener did not answer), not_granted (a half-open target\'s probe was held by a caller).',
    labelNames: ['target', 'outcome'] as const,
    registers: [this.registry],
  });
  // Issue 10 (README, Operations, Metrics): the GenAI conventions' histograms and the gateway's own series.
  /** gen_ai_* histograms (gen-ai.ts), fed per request by exchange-metrics.ts. */
  readonly genAi = new GenAiMetrics(this.registry);
  /**
   * The `team` label's values: teams come from gateway.yaml's keys and from admin-created keys,
   * so they are bounded by who may create keys; past 500 distinct teams per process further ones
   * are counted as `_other`, so no run of created keys mints unbounded series.
   */
  readonly teamLabel = new BoundedLabel(500);
  readonly failovers = new Counter({
    name: 'gateway_failovers_total',
    help: "Requests answered (2xx) by a target other than the plan's first, by public model, the provider that answered and the first target's provider (first_provider).",
    labelNames: ['model', 'provider', 'first_provider'] as const,
    registers: [this.registry],
  });
  readonly refusals = new Counter({
    name: 'gateway_refusals_total',
    help: 'Requests the gateway refused before any attempt went upstream, by kind (rate_limit, budget, provider_capacity, routing_constraints, state_unavailable), public model and team.',
    labelNames: ['kind', 'model', 'team'] as const,
    registers: [this.registry],
  });
  /** What the scrape-time gauges below read; set by Gateway.start (absent: those gauges have no series). */
  sources: MetricSources | undefined;
  readonly modelLatencySla: Gauge<'model'> = new Gauge({
    name: 'gateway_model_latency_sla_seconds',
    help: "A model's (or alias's) latency SLA, gateway.yaml models.<name>.routing.constraints.latencySlaMs in seconds (time to first token for streams, total time otherwise); only models that set one.",
    labelNames: ['model'] as const,
    registers: [this.registry],
    collect: (): void => collectLatencySla(this.modelLatencySla, this.sources),
  });
  readonly budgetSpent: Gauge<'team' | 'period'> = new Gauge({
    name: 'gateway_budget_spent_usd',
    help: "A team budget's settled spend in its current period (USD), read from the state backend at scrape time (the fleet's figure with Redis); teams with a budget in gateway.yaml only. While the backend is down: the last figure read this period (stale; gateway_redis_up says so).",
    labelNames: ['team', 'period'] as const,
    registers: [this.registry],
    collect: (): Promise<void> => collectBudgets(this.budgetSpent, this.budgetLimit, this.sources, this.lastBudgetSpent),
  });
  /** The last spend read per team budget and period (USD): what gateway_budget_spent_usd keeps showing while the backend is down. */
  private readonly lastBudgetSpent = new Map<string, number>();
  readonly budgetLimit = new Gauge({
    name: 'gateway_budget_limit_usd',
    help: "A team budget's limit per period (USD), gateway.yaml budgets.teams.<team>.budget.limitUsd.",
    labelNames: ['team', 'period'] as const,
    registers: [this.registry],
  });
  readonly redisUp: Gauge<'mode'> = new Gauge({
    name: 'gateway_redis_up',
    help: 'Whether the state backend\'s Redis connection is ready (1) or not (0), by mode (single, sentinel, cluster); no series on the embedded backend.',
    labelNames: ['mode'] as const,
    registers: [this.registry],
    collect: (): void => collectRedisUp(this.redisUp, this.sources),
  });
  readonly redisCommandErrors: Counter<'operation'> = new Counter({
    name: 'gateway_redis_command_errors_total',
    help: 'State backend Redis commands that failed (error, timeout, not connected), by operation (reserve, settle, reserveSpend, cacheGet, getRecord, ...).',
    labelNames: ['operation'] as const,
    registers: [this.registry],
    collect: (): void => collectRedisErrors(this.redisCommandErrors, this.sources),
  });
  /** Epoch ms the price table in force was installed (priceTableInstalled); the two gauges exist from then on. */
  private priceTableAtMs: number | undefined;
  private priceTable: { readonly timestamp: Gauge; readonly age: Gauge } | undefined;
  readonly priceRefreshes = new Counter({
    name: 'gateway_price_refreshes_total',
    help: 'Price table refreshes by result (ok, failed: the last good prices stay in force).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  /**
   * For the pricing module (src/pricing/): a refresh of the price table ended. `ok`: the table
   * now in force was fetched at `atMs` (epoch ms); `failed`: the last good table stays, and its
   * age keeps growing (the GatewayPriceTableStale alert).
   */
  priceRefreshed(result: 'ok' | 'failed', atMs: number = Date.now()): void {
    this.priceRefreshes.inc({ result });
    if (result === 'ok') this.priceTableInstalled(atMs);
  }

  /**
   * For the pricing module: with `pricing.source` set, the table in force was installed at
   * `atMs` (epoch ms: its last good refresh, else the start, when the bundled catalogue was
   * loaded), so the age exists from the start even when the first refresh fails; undefined: no
   * source (the bundled table is never refreshed, so it has no age to alert on): no series.
   */
  priceTableInstalled(atMs: number | undefined): void {
    this.priceTableAtMs = atMs;
    if (atMs === undefined) {
      // Unregistered, not reset: an unlabelled gauge would still show 0 (a table 56 years old).
      if (this.priceTable) for (const name of ['gateway_price_table_last_refresh_timestamp_seconds', 'gateway_price_table_age_seconds']) this.registry.removeSingleMetric(name);
      this.priceTable = undefined;
      return;
    }
    // Registered with a source only: an unlabelled gauge always shows a value, and a 0
    // timestamp on a gateway without refreshes would look like a table 56 years old.
    this.priceTable ??= {
      timestamp: new Gauge({
        name: 'gateway_price_table_last_refresh_timestamp_seconds',
        help: 'When the price table in use was installed (Unix seconds): its last successful refresh from pricing.source, else the start (the bundled catalogue); no series without pricing.source.',
        registers: [this.registry],
      }),
      age: new Gauge({
        name: 'gateway_price_table_age_seconds',
        help: 'Seconds since the price table in use was installed (now − gateway_price_table_last_refresh_timestamp_seconds); no series without pricing.source.',
        registers: [this.registry],
        collect: (): void => collectPriceAge(this.priceTable!.age, this.priceTableAtMs),
      }),
    };
    this.priceTable.timestamp.set(atMs / 1000);
  }

  readonly configReloads = new Counter({
    name: 'gateway_config_reloads_total',
    help: 'Config reloads by result (applied or rejected).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'gateway_process_' });
  }
}
