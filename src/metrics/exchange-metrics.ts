import type { Exchange } from '../exchange/exchange.ts';
import type { GatewayMetrics } from './metrics.ts';

/**
 * Error codes of requests the gateway refused before any attempt went upstream, by the
 * `kind` label of `gateway_refusals_total`. A provider's own 429 (also `rate_limit_exceeded`)
 * went upstream, so it is not a refusal.
 */
export const REFUSAL_KIND: Readonly<Record<string, string>> = Object.freeze({
  rate_limit_exceeded: 'rate_limit', // src/policy/rate-limit-errors.ts
  budget_exceeded: 'budget', // src/policy/budget-errors.ts
  provider_capacity_exhausted: 'provider_capacity', // src/routing/limits/capacity-error.ts
  no_target_meets_constraints: 'routing_constraints', // src/routing/route-request.ts
  state_unavailable: 'state_unavailable', // a fail-closed policy with its state backend down
});

/** What finishExchange knows when a request ends, beyond the Exchange. */
export interface FinishedExchange {
  readonly ex: Exchange;
  /** completed, failed or aborted. */
  readonly outcome: string;
  /** ms from the request headers to the end of the response (the log line's `latency_ms`). */
  readonly latencyMs: number;
  readonly cacheHit: boolean;
  /** performance.now() when the response ended (TPOT's end). */
  readonly endedAtMonoMs: number;
}

/**
 * The series issue 10 added, from one finished request (probes excluded: the caller of this
 * decides): the GenAI histograms for requests a provider answered or failed (not cache hits),
 * failovers and refusals (cost by team is gateway_cost_usd_total's `team`, in finish.ts). Labels come from gateway.yaml only (models, providers,
 * targets) and the caller's team through `metrics.teamLabel` (bounded).
 */
export function recordExchangeMetrics(m: GatewayMetrics, f: FinishedExchange): void {
  const { ex } = f;
  const model = ex.model?.name ?? '';
  const team = ex.caller ? m.teamLabel.of(ex.caller.team) : '';
  const attempt = ex.lastAttempt;
  if (attempt === undefined || f.cacheHit) {
    const kind = ex.errorCode === undefined ? undefined : REFUSAL_KIND[ex.errorCode];
    if (kind !== undefined && ex.attempts.length === 0) m.refusals.inc({ kind, model, team });
    return;
  }
  // Answered by a target other than the plan's first: a failover the caller did not see.
  const first = ex.attempts[0]!;
  const answered = attempt.status !== undefined && attempt.status >= 200 && attempt.status < 300 && !ex.envoyLocalReply;
  if (answered && attempt.key !== first.key) m.failovers.inc({ model, provider: attempt.provider.name, first_provider: first.provider.name });
  if (ex.model === undefined) return;
  const series = m.genAi.forTarget(model, attempt.key, attempt.provider, attempt.providerModel);
  const errorType = f.outcome === 'completed' ? '' : f.outcome === 'aborted' ? 'aborted' : String(ex.status ?? 0);
  series.duration(errorType).observe(f.latencyMs / 1000);
  if (ex.usage !== undefined) {
    series.tokens('input').observe(ex.usage.promptTokens);
    series.tokens('output').observe(ex.usage.completionTokens);
  }
  // TTFT and TPOT: successful streams only (the conventions' "for successful responses"); a JSON
  // answer has no first token the gateway can see before its end.
  if (!ex.stream || f.outcome !== 'completed' || !answered || attempt.firstChunkAtMs === undefined) return;
  series.timeToFirstToken().observe(Math.max(0, attempt.firstChunkAtMs - attempt.startedAtMs) / 1000);
  const output = ex.usage?.completionTokens ?? 0;
  if (output >= 2) series.timePerOutputToken().observe(Math.max(0, f.endedAtMonoMs - attempt.firstChunkAtMs) / 1000 / (output - 1));
}
