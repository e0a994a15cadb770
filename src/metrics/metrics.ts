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
