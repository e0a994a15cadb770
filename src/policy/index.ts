import type { Exchange } from '../exchange/exchange.ts';
import type { GatewayMetrics } from '../metrics/metrics.ts';
import type { Logger } from '../observability/logger.ts';
import type { StateStore } from '../state/store.ts';
import { budgetStep } from './budget.ts';
import { exchangeBudgetIO } from './budget-exchange.ts';
import { concurrent } from './concurrent.ts';
import { PolicyPipeline, type PolicyStep, type StepFault } from './pipeline.ts';
import { tracing } from '../tracing/hooks.ts';
import { rateLimitStep, type RateLimitStep } from './rate-limit.ts';
import { exchangeRateLimitView } from './rate-limit-exchange.ts';
import type { StateFaultSink } from './rate-limit-outage.ts';
import type { Settlement } from './settlement.ts';
import { gatewayThinkingStep } from './thinking-step.ts';
import { cacheStoreOf } from './response-cache/store.ts';
import { exchangeCacheStep } from './response-cache/exchange-io.ts';
import type { TargetHealth } from '../routing/health/target-health.ts';
import { providerLimitStep } from '../routing/limits/provider-limit-step.ts';
import { exchangeProviderLimitOutcome, exchangeProviderLimitView } from '../routing/limits/provider-limit-exchange.ts';

export interface Policies {
  readonly pipeline: PolicyPipeline<Exchange, Settlement>;
  /** Releases what the steps hold beyond the store (the fail-open fallback counters). */
  close(): Promise<void>;
}

export interface PolicyDeps {
  readonly store: StateStore;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  /** Targets' health (cool-downs) for the provider-limit step; undefined: none kept. */
  readonly health?: () => TargetHealth | undefined;
}

/**
 * The request path's policy steps, in the order they run at the request body (after the key is
 * authenticated and the model authorized): rate limits (requests, then the token reservation)
 * and budgets (may degrade the model or drop targets it cannot pay for), admitted concurrently
 * on Redis (concurrent.ts), then Claude's kept thinking for
 * a continued tool loop (thinking-step.ts), the response cache (a hit answers the request;
 * response-cache/exchange-io.ts), then the provider limits (src/routing/limits/). A step with nothing
 * configured for a request continues at once, so the order costs nothing where no policy
 * applies. Steps read the config the request started with (`ex.config`), so a reload applies to
 * the next request.
 */
export function createPolicies(deps: PolicyDeps): Policies {
  const onStateError: StateFaultSink['onStateError'] = (e) => deps.metrics.policyStateErrors.inc({ policy: e.policy, operation: e.operation, mode: e.mode });
  const rateLimits: RateLimitStep<Exchange> = rateLimitStep<Exchange>({ store: deps.store, view: exchangeRateLimitView, log: deps.logger, onStateError });
  const health = deps.health ?? ((): undefined => undefined);
  const onFault: StepFault = (step, phase, err) => deps.logger.warn({ err, step, phase }, 'policy step fault');
  const limitsThenBudgets: PolicyStep<Exchange, Settlement>[] = [rateLimits, budgetStep(exchangeBudgetIO, { store: deps.store, log: deps.logger, onStateError })];
  const steps: PolicyStep<Exchange, Settlement>[] = [
    // On Redis admitted together: their two reserves go out in one turn, one round trip for
    // admission instead of two. Independent: the rate limit's token estimate is taken on the
    // model asked for when its admit starts (rate-limit-exchange.ts), before the budget step
    // may degrade it; a refusal from either releases the other (rate limits' refusal first).
    // The embedded store has no round trip to share, and the combinator cost it ~5 µs per
    // request (bench/policy-steps.ts), so there they run one after the other, same outcomes.
    ...(deps.store.backend === 'redis' ? [concurrent(limitsThenBudgets, { onFault })] : limitsThenBudgets),
    // After budgets: it reads the final plan (after any degrade); it only attaches Claude's kept thinking, never refuses.
    gatewayThinkingStep(deps.store, deps),
    // The response cache after all of them: a hit answers the request and is settled by the
    // steps before it as `cacheHit` (1 request, 0 tokens, 0 cost); it looks up the final model.
    exchangeCacheStep({ store: cacheStoreOf(deps.store), metrics: deps.metrics, logger: deps.logger }),
    // Last: a cache hit, or a request another step refused, spends no provider quota. Reserves on
    // the target the request goes to first, moves limited and cooling targets out of its way, and
    // waits (bounded) or answers 429 when all are (src/routing/limits/provider-limit-step.ts).
    providerLimitStep<Exchange>({
      store: deps.store,
      health,
      view: exchangeProviderLimitView(health),
      outcome: exchangeProviderLimitOutcome,
      log: deps.logger,
      onStateError,
    }),
  ];
  // One span per step's admit when tracing is on (src/tracing/); off, the steps as they are.
  const pipeline = new PolicyPipeline(steps.map((s) => tracing().wrapStep(s)), onFault);
  return { pipeline, close: () => rateLimits.close() };
}
