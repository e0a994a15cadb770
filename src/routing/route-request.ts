import type { RuntimeModel } from '../config/runtime.ts';
import { UpstreamError } from '../errors/gateway-error.ts';
import type { Exchange } from '../exchange/exchange.ts';
import type { ChatRequest } from '../openai/chat-request.ts';
import { requestOutputTokens } from '../policy/rate-limit-exchange.ts';
import type { TargetHealth } from './health/target-health.ts';
import { NO_TARGETS, UNMEASURED, type HealthView, type TargetKey } from './health/view.ts';
import type { RoutingPlan } from './plan.ts';
import { servableMask } from './request-plan.ts';
import type { RoutingDecision } from './strategy/decision.ts';
import { orderTargets } from './strategy/order.ts';
import { planFor } from './strategy/plan-cache.ts';
import type { RoutingRefusal } from './strategy/types.ts';

/**
 * One request's routing decision (issue 9): which of its model's targets Envoy tries, in which
 * order, as the plan headers of src/routing/plan.ts.
 *
 * 1. The capability mask (request-plan.ts `servableMask`): targets whose wire format cannot
 *    serve the request are out; none left is the first target's CapabilityError (400).
 * 2. `orderTargets` (strategy/order.ts) with the model's compiled `routing:`, the targets'
 *    health (or an always-healthy view when the gateway has none), the request's facts (stream,
 *    prompt estimate, output limit × n) and the prices in force now (UTC windows).
 * 3. `planFor` (strategy/plan-cache.ts): the frozen plan shared by every request with the same
 *    order, plus the model's timeout headers (upstream-timeouts.ts), also cached per plan.
 * A refusal (constraints no target meets under `onUnmet: refuse`) is NoTargetMeetsConstraintsError.
 */


/** The health view when the gateway keeps none: every target healthy and unmeasured (allocates nothing). */
export const ALWAYS_HEALTHY: HealthView = Object.freeze({ get: () => UNMEASURED });
const ANY_PROBE = (): boolean => true;

export interface RouteOptions {
  /** Targets' health; undefined: ALWAYS_HEALTHY. */
  readonly health?: TargetHealth | undefined;
  /** Epoch ms: health and prices are read at this instant. */
  readonly nowMs: number;
  /** Uniform in [0, 1) (weighted draws, the latency band's shuffle); default Math.random. */
  readonly random?: () => number;
  /** Targets at their provider limit (bit per index), left out of the order as `limit` (src/routing/limits/). */
  readonly limited?: number;
}

export interface RoutedRequest {
  readonly decision: RoutingDecision;
  /** The plan for `decision.order`; undefined when the decision is a refusal. */
  readonly plan: RoutingPlan | undefined;
  /** Targets whose half-open probe this request was granted (usually none: a shared empty array). */
  readonly probes: readonly TargetKey[];
}


/**
 * Orders `model`'s targets for `request` (`promptTokens`: the request's prompt estimate, tokens).
 * Throws the CapabilityError when no target can serve the request. Never throws for a refusal:
 * `plan` is then undefined and `decision.refusal` says why.
 */
export function routeRequest(model: RuntimeModel, request: ChatRequest, promptTokens: number, opts: RouteOptions): RoutedRequest {
  const servable = servableMask(model.targets, request);
  const health = opts.health;
  const nowMs = opts.nowMs;
  let probes = NO_TARGETS;
  // orderTargets asks only for half-open targets' probes: a grant is a probe this request holds.
  const tryProbe = health
    ? (key: TargetKey): boolean => {
        const granted = health.tryProbe(key, nowMs);
        if (granted) probes = [...probes, key];
        return granted;
      }
    : ANY_PROBE;
  const decision = orderTargets({
    targets: model.targets,
    servable,
    request: { stream: request.stream === true, promptTokens, maxOutputTokens: requestOutputTokens(request, model.defaultMaxTokens) },
    nowMs,
    health: health ?? ALWAYS_HEALTHY,
    routing: model.routing,
    random: opts.random ?? Math.random,
    tryProbe,
    limited: opts.limited ?? 0,
  });
  if (decision.order.length === 0) return { decision, plan: undefined, probes };
  return { decision, plan: withTimeouts(model, planFor(model.targets, decision.order)), probes };
}

/**
 * routeRequest for an Exchange whose model and request are set: stores the decision
 * (`ex.routing`, for the explanation and each attempt's target key) and the plan (`ex.plan`).
 * Throws the CapabilityError, or NoTargetMeetsConstraintsError for a refusal (after storing
 * the decision, so an explanation can say why).
 */
export function routeExchange(ex: Exchange, health: TargetHealth | undefined, nowMs: number = Date.now()): void {
  const routed = routeRequest(ex.model!, ex.request!, ex.promptTokenEstimate(), { health, nowMs });
  ex.routing = routed.decision;
  ex.probes = routed.probes;
  if (routed.plan === undefined) throw new NoTargetMeetsConstraintsError(routed.decision.refusal!);
  ex.plan = routed.plan;
}

/** Plans with a model's timeout headers, by the plan without them (both frozen; a reload starts afresh with new plans). */
const timed = new WeakMap<RoutingPlan, RoutingPlan>();

/**
 * `plan` with `model`'s timeout headers (upstream-timeouts.ts), built once per plan. The same
 * plan object when the model sets no timeouts. Also for a plan the budget step re-makes.
 */
export function withTimeouts(model: Pick<RuntimeModel, 'timeoutHeaders'>, plan: RoutingPlan): RoutingPlan {
  const extra = model.timeoutHeaders;
  if (isEmpty(extra)) return plan;
  let out = timed.get(plan);
  if (out === undefined) {
    out = Object.freeze({ headers: Object.freeze({ ...plan.headers, ...extra }), targets: plan.targets });
    timed.set(plan, out);
  }
  return out;
}

function isEmpty(o: object): boolean {
  for (const _ in o) return false;
  return true;
}

/**
 * No target meets the model's routing constraints (`latencySlaMs`, `maxPriceUsd`) and the model
 * says `onUnmet: refuse`: 503 `server_error`, code `no_target_meets_constraints`, the message
 * naming each constraint and the best figure seen. `x-should-retry: false`: the SDKs' automatic
 * retry would meet the same figures a few ms later.
 */
export class NoTargetMeetsConstraintsError extends UpstreamError {
  constructor(readonly refusal: RoutingRefusal) {
    super(503, 'server_error', `${capitalize(refusal.message)}.`, { code: 'no_target_meets_constraints', headers: { 'x-should-retry': 'false' } });
  }
}

const capitalize = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
