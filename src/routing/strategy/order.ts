import { arrangeByScore } from './by-score.ts';
import { MAX_ROUTED_TARGETS } from './compile.ts';
import { RoutingDecision, unmetOf } from './decision.ts';
import { BREAKER, CAPABILITY, CONSTRAINTS, COOLING, COST_USD, FIGURES_PER_TARGET, FLAGS, LIMIT, P95_MS, PRICE, SCORE, SLA, UNHEALTHY } from './figures.ts';
import { arrangeByLatency } from './latency.ts';
import { internOrder } from './order-code.ts';
import { refusalFor } from './refusal.ts';
import { expectedCostUsd } from './request-cost.ts';
import type { OrderInput } from './types.ts';
import { arrangeWeighted } from './weighted.ts';

/** Scratch order; orderTargets runs synchronously to the end, so one buffer serves every call. */
const buf = new Int32Array(MAX_ROUTED_TARGETS);

/**
 * This request's attempt order over a model's targets, by the model's strategy and constraints
 * (gateway.yaml `routing:`, see routing-schema.ts). Pure but for `random` and `tryProbe`.
 *
 * Each servable target (bit set in `servable`) is healthy or not (breaker open; half-open without
 * the probe; cooling after a 429) and meets the constraints or not (`sla`: recent p95 for the
 * request's kind above `latencySlaMs`, none without samples; `price`: expectedCostUsd above
 * `maxPriceUsd`). The order is, each group in strategy order:
 * - healthy targets that meet the constraints, if there is any; else
 * - healthy targets that do not (only with `onUnmet: best-available`; `unmet` says which), then
 *   unhealthy targets that meet them, then (best-available) unhealthy ones that do not.
 * Health comes before constraints there: an over-SLA or over-price target still answers, one
 * with an open breaker most likely does not. An empty order is a refusal (`refusal`).
 *
 * A half-open target is asked for its probe (`tryProbe`) only when its group would be used,
 * so a probe is never taken by a request that then leaves the target out.
 *
 * Cost per call: one health read per servable target, one small Float64Array and the decision
 * object; orders are interned (order-code.ts) and plans cached (plan-cache.ts). The
 * explanation is built only by `decision.explain()`.
 */
export function orderTargets(input: OrderInput): RoutingDecision {
  const { targets, servable, routing, request, nowMs, health } = input;
  const n = targets.length;
  if (n > MAX_ROUTED_TARGETS) throw new RangeError(`orderTargets: at most ${MAX_ROUTED_TARGETS} targets, not ${n}`);
  const figures = new Float64Array(n * FIGURES_PER_TARGET);
  const strategy = routing.strategy;
  const needCost = strategy === 'cost' || routing.maxPriceUsd !== undefined;
  let halfOpen = 0;
  const limited = input.limited ?? 0;
  for (let i = 0; i < n; i++) {
    const at = i * FIGURES_PER_TARGET;
    let flags = 0;
    let score = strategy === 'priority' ? i + 1 : strategy === 'weighted' ? routing.weights[i]! : NaN;
    let cost = NaN;
    let p95 = NaN;
    if ((servable & (1 << i)) === 0) {
      flags = CAPABILITY;
    } else if ((limited & (1 << i)) !== 0) {
      flags = LIMIT;
    } else {
      const t = targets[i]!;
      const snap = health.get(t.key, nowMs);
      if (snap.coolingUntilMs !== undefined && snap.coolingUntilMs > nowMs) flags |= COOLING;
      if (snap.breaker === 'open' || (snap.breaker === 'half-open' && flags !== 0)) flags |= BREAKER;
      else if (snap.breaker === 'half-open') halfOpen |= 1 << i;
      p95 = kindOf(snap.p95Ms, request.stream) ?? NaN;
      if (routing.latencySlaMs !== undefined && p95 > routing.latencySlaMs) flags |= SLA;
      if (needCost) {
        cost = expectedCostUsd(t.price, request, snap.cachedInputShare, nowMs);
        if (routing.maxPriceUsd !== undefined && cost > routing.maxPriceUsd) flags |= PRICE;
      }
      if (strategy === 'latency') score = kindOf(snap.latencyMs, request.stream) ?? NaN;
      else if (strategy === 'cost') score = cost;
    }
    figures[at + SCORE] = score;
    figures[at + COST_USD] = cost;
    figures[at + P95_MS] = p95;
    figures[at + FLAGS] = flags;
  }
  if (halfOpen !== 0) askProbes(input, figures, halfOpen);

  let len = collectArranged(input, figures, 0, healthyMet);
  if (len === 0) {
    const bestAvailable = routing.onUnmet === 'best-available';
    if (bestAvailable) len = collectArranged(input, figures, len, healthyUnmet);
    len = collectArranged(input, figures, len, unhealthyMet);
    if (bestAvailable) len = collectArranged(input, figures, len, unhealthyUnmet);
  }
  if (len === 0) return new RoutingDecision(EMPTY, unmetOf(0), refusalFor(input, figures), input, figures);
  let unmet = 0;
  for (let k = 0; k < len; k++) unmet |= figures[buf[k]! * FIGURES_PER_TARGET + FLAGS]! & CONSTRAINTS;
  return new RoutingDecision(internOrder(buf, len), unmetOf(unmet), undefined, input, figures);
}

const EMPTY: readonly number[] = Object.freeze([]);

/** The stream (TTFT) or json (total time) figure, ms. */
function kindOf(byKind: { readonly stream?: number; readonly json?: number }, stream: boolean): number | undefined {
  return stream ? byKind.stream : byKind.json;
}

/**
 * Half-open targets: one that meets the constraints is in the first group, so it asks for its
 * probe; one that does not asks only when the first group is empty and best-available would
 * route it. Without the probe it counts as `breaker`.
 */
function askProbes(input: OrderInput, figures: Float64Array, halfOpen: number): void {
  let metCount = 0;
  for (let i = 0; i < input.targets.length; i++) {
    if ((halfOpen & (1 << i)) === 0 && figures[i * FIGURES_PER_TARGET + FLAGS] === 0) metCount++;
  }
  // met ones first: a granted probe among them makes the first group non-empty
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < input.targets.length; i++) {
      if ((halfOpen & (1 << i)) === 0) continue;
      const at = i * FIGURES_PER_TARGET + FLAGS;
      const met = (figures[at]! & CONSTRAINTS) === 0;
      if (met !== (pass === 0)) continue;
      const useful = met || (metCount === 0 && input.routing.onUnmet === 'best-available');
      if (useful && input.tryProbe(input.targets[i]!.key)) {
        if (met) metCount++;
      } else {
        figures[at] = figures[at]! | BREAKER;
      }
    }
  }
}

/** The groups of an order, by verdict flags (servable targets only; see orderTargets). */
const healthyMet = (f: number): boolean => f === 0;
const healthyUnmet = (f: number): boolean => (f & UNHEALTHY) === 0 && (f & CONSTRAINTS) !== 0;
const unhealthyMet = (f: number): boolean => (f & UNHEALTHY) !== 0 && (f & CONSTRAINTS) === 0;
const unhealthyUnmet = (f: number): boolean => (f & UNHEALTHY) !== 0 && (f & CONSTRAINTS) !== 0;

/** Appends the servable targets whose flags pass `test`, in strategy order; returns the new length. */
function collectArranged(input: OrderInput, figures: Float64Array, len: number, test: (flags: number) => boolean): number {
  const start = len;
  for (let i = 0; i < input.targets.length; i++) {
    const f = figures[i * FIGURES_PER_TARGET + FLAGS]!;
    if ((f & (CAPABILITY | LIMIT)) === 0 && test(f)) buf[len++] = i;
  }
  arrange(input, figures, start, len);
  return len;
}

function arrange(input: OrderInput, figures: Float64Array, start: number, end: number): void {
  if (end - start < 2) return;
  switch (input.routing.strategy) {
    case 'priority':
      return;
    case 'cost':
      return arrangeByScore(buf, start, end, figures);
    case 'weighted':
      return arrangeWeighted(buf, start, end, figures, input.random);
    case 'latency':
      return arrangeByLatency(buf, start, end, figures, input.routing.tolerance, input.random);
  }
}
