import { formatUsd, toNanoUsd } from '../../pricing/cost.ts';
import { BREAKER, CAPABILITY, COOLING, COST_USD, FIGURES_PER_TARGET, FLAGS, LIMIT, P95_MS, PRICE, SCORE, SLA } from './figures.ts';
import type { RoutingTarget } from './types.ts';
import type { CandidateExplanation, OrderInput, RoutingExplanation, RoutingRefusal, ScoreUnit, SkippedExplanation, SkipReason, UnmetConstraint } from './types.ts';

const UNMET: readonly (readonly UnmetConstraint[])[] = [[], ['sla'], ['price'], ['sla', 'price']].map((u) => Object.freeze(u as UnmetConstraint[]));

/** The shared frozen list for constraint flags (SLA | PRICE). */
export function unmetOf(flags: number): readonly UnmetConstraint[] {
  return UNMET[((flags & SLA) !== 0 ? 1 : 0) + ((flags & PRICE) !== 0 ? 2 : 0)]!;
}

const UNIT: Readonly<Record<RoutingExplanation['strategy'], ScoreUnit>> = { priority: 'position', weighted: 'weight', latency: 'ms', cost: 'usd' };

/**
 * orderTargets' answer: `order` (target indexes, attempt order; a shared frozen array, pass it to
 * planFor) or, when empty, `refusal`. `unmet` lists the constraints the order does not meet
 * (best-available). `explain()` builds the full explanation on demand from the figures kept.
 */
export class RoutingDecision {
  constructor(
    readonly order: readonly number[],
    readonly unmet: readonly UnmetConstraint[],
    readonly refusal: RoutingRefusal | undefined,
    private readonly input: OrderInput,
    private readonly figures: Float64Array,
    /** Per target index, the figures of a provider limit that left it out (`rpm 60/60, resets in 12 s`). */
    private readonly limits?: ReadonlyMap<number, string>,
  ) {}

  /** The model's targets this decision ordered (config order); identity tells a degraded model's targets apart. */
  get targets(): readonly RoutingTarget[] {
    return this.input.targets;
  }

  /**
   * The same decision after the provider-limit step (src/routing/limits/provider-limit-step.ts)
   * took targets out: `order` is the new attempt order, `limited` each target left out at its
   * provider limit with the figures behind it. The explanation then lists them with reason `limit`.
   */
  withLimits(order: readonly number[], limited: ReadonlyMap<number, string>): RoutingDecision {
    if (limited.size === 0) return new RoutingDecision(order, this.unmet, this.refusal, this.input, this.figures, this.limits);
    const figures = this.figures.slice();
    const all = new Map(this.limits);
    for (const [i, detail] of limited) {
      const at = i * FIGURES_PER_TARGET + FLAGS;
      figures[at] = figures[at]! | LIMIT;
      all.set(i, detail);
    }
    return new RoutingDecision(order, this.unmet, this.refusal, this.input, figures, all);
  }

  /**
   * Strategy, each candidate's score (unit in `scoreUnit`) in attempt order, the targets left
   * out with their reasons. Breaker and cooling details are re-read from the HealthView at the
   * decision's `nowMs`.
   */
  explain(): RoutingExplanation {
    const { targets, routing } = this.input;
    const candidates: CandidateExplanation[] = [];
    const skipped: SkippedExplanation[] = [];
    const attemptOf = new Map(this.order.map((t, k) => [t, k + 1]));
    for (let i = 0; i < targets.length; i++) {
      const at = i * FIGURES_PER_TARGET;
      const flags = this.figures[at + FLAGS]!;
      const s = this.figures[at + SCORE]!;
      const score = Number.isNaN(s) ? undefined : s;
      const reasons = reasonsOf(flags);
      const attempt = attemptOf.get(i);
      if (attempt === undefined) {
        skipped.push({ index: i, key: targets[i]!.key, reasons, detail: this.detail(i, flags), score });
      } else {
        const c: CandidateExplanation = { index: i, key: targets[i]!.key, attempt, score };
        candidates.push(reasons.length === 0 ? c : { ...c, fallback: { reasons, detail: this.detail(i, flags) } });
      }
    }
    candidates.sort((a, b) => a.attempt - b.attempt);
    return { strategy: routing.strategy, scoreUnit: UNIT[routing.strategy], candidates, skipped, unmet: this.unmet, refusal: this.refusal };
  }

  private detail(i: number, flags: number): string {
    const { targets, routing, health, nowMs } = this.input;
    const at = i * FIGURES_PER_TARGET;
    const parts: string[] = [];
    if (flags & CAPABILITY) parts.push('cannot serve this request');
    if (flags & (BREAKER | COOLING)) {
      const snap = health.get(targets[i]!.key, nowMs);
      if (flags & BREAKER) {
        const why = snap.breakerReason ? ` (${snap.breakerReason})` : '';
        parts.push(snap.breaker === 'half-open' ? `breaker half-open${why}, probe taken` : `breaker open${why}${snap.openUntilMs ? ` until ${new Date(snap.openUntilMs).toISOString()}` : ''}`);
      }
      if (flags & COOLING) parts.push(`cooling down after a provider 429${snap.coolingUntilMs ? ` until ${new Date(snap.coolingUntilMs).toISOString()}` : ''}`);
    }
    if (flags & SLA) parts.push(`p95 ${Math.ceil(this.figures[at + P95_MS]!)} ms > SLA ${routing.latencySlaMs} ms`);
    if (flags & PRICE) parts.push(`estimate ${usd(this.figures[at + COST_USD]!)} USD > max ${usd(routing.maxPriceUsd!)} USD`);
    if (flags & LIMIT) parts.push(this.limits?.get(i) ?? 'at its provider limit');
    return parts.join('; ');
  }
}

function reasonsOf(flags: number): SkipReason[] {
  const out: SkipReason[] = [];
  if (flags & CAPABILITY) out.push('capability');
  if (flags & BREAKER) out.push('breaker');
  if (flags & COOLING) out.push('cooling');
  if (flags & SLA) out.push('sla');
  if (flags & PRICE) out.push('price');
  if (flags & LIMIT) out.push('limit');
  return out;
}

/** USD as a plain decimal (nano-USD precision, no exponent). */
export const usd = (x: number): string => formatUsd(toNanoUsd(x));

