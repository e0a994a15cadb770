import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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
    help: 'What requests cost in USD (provider-reported usage × the target\'s price, src/pricing/), by public model and the provider that served.',
    labelNames: ['model', 'provider'] as const,
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
