import type { CapabilityError } from '../errors/capability-error.ts';
import type { ChatRequest } from '../openai/chat-request.ts';
import { buildRoutingPlan, type PlannedTarget, type RoutingPlan } from './plan.ts';

/** A target whose wire format can say what it cannot serve (Dialect.cannotServe). */
export interface ServableTarget extends PlannedTarget {
  readonly provider: PlannedTarget['provider'] & {
    readonly dialect: { cannotServe?(req: ChatRequest): CapabilityError | undefined };
  };
}

/** A model as the planner needs it: its targets and the precomputed plan over all of them. */
export interface PlannableModel {
  readonly targets: readonly ServableTarget[];
  readonly plan: RoutingPlan;
}

/**
 * Plans over a subset of a model's targets, by bit mask of target indexes. Keyed by the
 * config's (frozen) target list, so a reload starts afresh and old entries are collected
 * with the old config; at most 2^4 − 2 entries per model (4 slots).
 */
const subsetPlans = new WeakMap<readonly ServableTarget[], Map<number, RoutingPlan>>();

/**
 * This request's plan in config order (routing by strategy: src/routing/route-request.ts; the
 * budget step re-plans a degrade target with this): the model's targets that can serve `req`. A target
 * whose dialect reports a CapabilityError (Anthropic and `n: 2`) is left out of this request's
 * plan only; when no target can serve it, the first target's CapabilityError is thrown (a 400
 * naming the parameter).
 *
 * Deciding who serves is eager, translating is lazy. The plan must be complete before anything
 * goes upstream: Envoy picks every retry's cluster from the slot headers set with it, and an
 * upstream filter's local reply goes straight to the caller without a retry (Envoy 1.40,
 * UpstreamRequest::sendLocalReply), so a target found unservable only at its own attempt
 * could not be skipped any more. So each dialect answers `cannotServe` (field reads, no
 * translation) for every target here, and only the first planned target is translated now;
 * the others are translated if and when their attempt comes, because translating every
 * target up front would multiply the handler time of the common case, where the first
 * target answers. The common case (every target can serve) allocates nothing: it returns the
 * model's precomputed plan, and other subsets are built once and cached.
 */
export function planRequest(model: PlannableModel, req: ChatRequest): RoutingPlan {
  const targets = model.targets;
  const mask = servableMask(targets, req);
  return mask === allTargets(targets.length) ? model.plan : subsetPlan(targets, mask);
}

/**
 * The capability mask of `req` over `targets`: bit i set when target i's dialect can serve it
 * (`cannotServe` answers undefined). Field reads only, no allocation. Throws the first target's
 * CapabilityError when no target can (a 400 naming the parameter). The input of routing's
 * `orderTargets` (src/routing/route-request.ts) and of planRequest.
 */
export function servableMask(targets: readonly ServableTarget[], req: ChatRequest): number {
  let mask = 0;
  let firstGap: CapabilityError | undefined;
  for (let i = 0; i < targets.length; i++) {
    const gap = targets[i]!.provider.dialect.cannotServe?.(req);
    if (gap === undefined) mask |= 1 << i;
    else firstGap ??= gap;
  }
  if (mask === 0) throw firstGap!;
  return mask;
}

/** The mask with every one of `n` targets. */
export const allTargets = (n: number): number => (1 << n) - 1;

function subsetPlan(targets: readonly ServableTarget[], mask: number): RoutingPlan {
  let byMask = subsetPlans.get(targets);
  if (!byMask) subsetPlans.set(targets, (byMask = new Map()));
  let plan = byMask.get(mask);
  if (!plan) {
    const indexes: number[] = [];
    for (let i = 0; i < targets.length; i++) if (mask & (1 << i)) indexes.push(i);
    plan = buildRoutingPlan(targets, indexes);
    byMask.set(mask, plan);
  }
  return plan;
}
