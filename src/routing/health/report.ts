import type { GatewayMetrics } from '../../metrics/metrics.ts';
import type { Logger } from '../../observability/logger.ts';
import type { BreakerTransition, TransitionListener } from './breaker.ts';
import type { AttemptOutcome } from './outcome.ts';
import type { TargetHealth } from './target-health.ts';
import type { BreakerState, TargetKey } from './view.ts';

/** `gateway_breaker_state` values. */
export const BREAKER_STATE_VALUE: Readonly<Record<BreakerState, number>> = { closed: 0, 'half-open': 1, open: 2 };

/**
 * A target key's metric labels: provider names have no `/` (gateway.yaml's provider name
 * pattern), so the first `/` splits provider from the provider's model (which may hold `/`).
 */
export function targetLabels(key: TargetKey): { provider: string; model: string } {
  const slash = key.indexOf('/');
  return slash === -1 ? { provider: key, model: '' } : { provider: key.slice(0, slash), model: key.slice(slash + 1) };
}

/**
 * Breaker state changes, reported: one warn line each (provider, model, from, to, reason and
 * the evidence; no request data) and the metrics `gateway_breaker_state` (0 closed, 1
 * half-open, 2 open) and `gateway_breaker_transitions_total{to,reason}`. With fleet health, a
 * change adopted from another replica (`source: fleet`) is logged with its source and counted in
 * `gateway_breaker_adopted_total` instead.
 */
export function reportTransitions(logger: Logger, metrics: GatewayMetrics): TransitionListener {
  return (t: BreakerTransition) => {
    const labels = targetLabels(t.key);
    metrics.breakerState.set(labels, BREAKER_STATE_VALUE[t.to]);
    // A change taken from the fleet is counted apart, so the transitions' sum over replicas counts each change once.
    (t.source === 'fleet' ? metrics.breakerAdoptions : metrics.breakerTransitions).inc({ ...labels, to: t.to, reason: t.reason });
    logger.warn(
      { provider: labels.provider, model: labels.model, from: t.from, to: t.to, reason: t.reason, detail: t.detail, ...(t.source !== undefined ? { source: t.source } : {}) },
      'circuit breaker state changed',
    );
  };
}

/** Records one attempt's outcome in `health` and counts it (`gateway_upstream_attempt_outcomes_total`, counted in a plain map: metrics.ts). */
export function recordOutcome(health: TargetHealth, metrics: GatewayMetrics | undefined, o: AttemptOutcome): void {
  if (metrics !== undefined) {
    const counts = metrics.attemptOutcomeCounts;
    const id = `${o.result} ${o.key}`;
    const entry = counts.get(id);
    if (entry !== undefined) entry.count += 1;
    else counts.set(id, { labels: { ...targetLabels(o.key), result: o.result }, count: 1 });
  }
  health.record(o);
}
