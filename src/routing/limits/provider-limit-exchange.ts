import type { Exchange } from '../../exchange/exchange.ts';
import { requestOutputTokens } from '../../policy/rate-limit-exchange.ts';
import type { TargetKey } from '../health/view.ts';
import type { TargetHealth } from '../health/target-health.ts';
import { routeRequest, withTimeouts } from '../route-request.ts';
import { planFor } from '../strategy/plan-cache.ts';
import type { ProviderLimitOutcome, ProviderLimitView } from './provider-limit-step.ts';

/**
 * The provider-limit step's view of an Exchange (provider-limit-step.ts), after routing, the
 * budget step (which may degrade `ex.model` and drop targets from `ex.plan`) and the cache: it
 * scans `ex.plan`'s order and writes a new order back as `ex.plan` (with the model's timeout
 * headers) and `ex.routing` (the explanation; kept as it is when the budget degraded the model,
 * since that decision speaks of the other model's targets). No view (the step continues at
 * once) when no provider sets limits and the first target is not cooling. A re-route (after a
 * wait, or with limited targets left out) routes `ex.model` afresh, within the plan's targets
 * when a budget applies to the caller; half-open probes it is granted join `ex.probes` (finish gives back the
 * ones not tried).
 */
export function exchangeProviderLimitView(health: () => TargetHealth | undefined, now: () => number = Date.now): (ex: Exchange) => ProviderLimitView | undefined {
  return (ex) => {
    const { model, plan, request } = ex;
    if (!model || !plan || !request || plan.targets.length === 0) return undefined;
    // The common case, without building a view: no provider limits and the first target not cooling.
    if (ex.config.providerLimits.empty) {
      const until = health()?.get(model.targets[plan.targets[0]!]!.key, now()).coolingUntilMs;
      if (until === undefined || until <= now()) return undefined;
    }
    const decision = ex.routing;
    // What a re-route may use. Under a budget, only the plan's targets: the budget reserved for
    // the dearest of them, and another target could cost more than it holds. Otherwise every
    // target (routing may bring back one it left out, e.g. cooling, as a fallback).
    const budgeted = ex.caller !== undefined && ex.config.budgets.rulesFor(ex.caller).length > 0;
    const allowed = (i: number): boolean => plan.targets.includes(i) || (!budgeted && decision !== undefined && decision.targets === model.targets);
    return {
      requestId: ex.id,
      model: model.name,
      targets: model.targets,
      order: plan.targets,
      limits: ex.config.providerLimits,
      maxWaitMs: ex.config.routingHealth.rateLimited.maxWaitMs,
      tokenEstimate: () => ex.promptTokenEstimate() + requestOutputTokens(request, model.defaultMaxTokens),
      get signal() {
        return ex.closedSignal;
      },
      reorder(order, limited) {
        if (order.length > 0) ex.plan = withTimeouts(model, planFor(model.targets, order));
        if (ex.routing && ex.routing.targets === model.targets) ex.routing = ex.routing.withLimits(order, limited);
      },
      reroute(nowMs, limited) {
        let mask = 0;
        for (const i of limited.keys()) mask |= 1 << i;
        const routed = routeRequest(model, request, ex.promptTokenEstimate(), { health: health(), nowMs, limited: mask });
        if (routed.probes.length > 0) ex.probes = [...ex.probes, ...routed.probes.filter((k) => !ex.probes.includes(k))];
        ex.routing = mask === 0 ? routed.decision : routed.decision.withLimits(routed.decision.order, limited);
        return routed.decision.order.filter(allowed);
      },
    };
  };
}

/** How an Exchange went, for settle: the target that served (a provider's 2xx), and which were tried. */
export function exchangeProviderLimitOutcome(ex: Exchange): ProviderLimitOutcome {
  const last = ex.lastAttempt;
  const ok = last !== undefined && !ex.envoyLocalReply && last.status !== undefined && last.status >= 200 && last.status < 300;
  return {
    served: ok ? { key: last.key, provider: last.provider } : undefined,
    attempted: (key: TargetKey) => ex.attempts.some((a) => a.key === key),
  };
}
