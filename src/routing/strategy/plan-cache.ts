import { buildRoutingPlan, MAX_ATTEMPT_SLOTS, type PlannedTarget, type RoutingPlan } from '../plan.ts';
import { orderCode } from './order-code.ts';

/**
 * Plans per model, by order code (order-code.ts). Keyed by the config's (frozen) target list,
 * like request-plan.ts's subset cache, so a reload starts afresh and old plans go with the old
 * config. At most 64 plans for a model of 4 targets.
 */
const plans = new WeakMap<readonly PlannedTarget[], Map<number, RoutingPlan>>();

/**
 * The frozen RoutingPlan (src/routing/plan.ts) that tries `targets` in `order` (target indexes,
 * non-empty): built the first time an order is seen, then shared by every request with that
 * order. An order longer than envoy.yaml's attempt slots (MAX_ATTEMPT_SLOTS) is cut to them,
 * since Envoy cannot be told about later attempts.
 */
export function planFor(targets: readonly PlannedTarget[], order: readonly number[]): RoutingPlan {
  if (order.length === 0) throw new RangeError('planFor: an empty order has no plan (the decision was a refusal)');
  const length = Math.min(order.length, MAX_ATTEMPT_SLOTS);
  const code = orderCode(order, length);
  let byCode = plans.get(targets);
  if (byCode === undefined) plans.set(targets, (byCode = new Map()));
  let plan = byCode.get(code);
  if (plan === undefined) {
    plan = buildRoutingPlan(targets, order.length > length ? order.slice(0, length) : order);
    byCode.set(code, plan);
  }
  return plan;
}
