import { unmetOf, usd } from './decision.ts';
import { CAPABILITY, CONSTRAINTS, LIMIT, COST_USD, FIGURES_PER_TARGET, FLAGS, P95_MS, PRICE, SLA } from './figures.ts';
import type { OrderInput, RoutingRefusal } from './types.ts';

/**
 * Why no order: no servable target (`capability`), or constraints no target meets under
 * `onUnmet: refuse` (`unmet`, naming each constraint with the best figure among the targets), or
 * every servable target at its provider limit (`limit`, src/routing/limits/).
 */
export function refusalFor(input: OrderInput, figures: Float64Array): RoutingRefusal {
  let servable = 0;
  let limited = 0;
  let flags = 0;
  let bestP95 = Infinity;
  let bestCost = Infinity;
  let overSla = 0;
  let overPrice = 0;
  for (let i = 0; i < input.targets.length; i++) {
    const at = i * FIGURES_PER_TARGET;
    const f = figures[at + FLAGS]!;
    if (f & LIMIT) limited++;
    if (f & (CAPABILITY | LIMIT)) continue;
    servable++;
    flags |= f & CONSTRAINTS;
    if (f & SLA) {
      overSla++;
      bestP95 = Math.min(bestP95, figures[at + P95_MS]!);
    }
    if (f & PRICE) {
      overPrice++;
      bestCost = Math.min(bestCost, figures[at + COST_USD]!);
    }
  }
  if (servable === 0 && limited > 0) return { reason: 'limit', unmet: unmetOf(0), message: 'every target that can serve this request is at its provider limit' };
  if (servable === 0) return { reason: 'capability', unmet: unmetOf(0), message: 'no target of this model can serve this request' };
  const parts: string[] = [];
  if (flags & SLA) parts.push(`latencySlaMs ${input.routing.latencySlaMs} ms (${overSla} target(s) above it, p95 from ${Math.ceil(bestP95)} ms)`);
  if (flags & PRICE) parts.push(`maxPriceUsd ${usd(input.routing.maxPriceUsd!)} USD (${overPrice} target(s) above it, estimates from ${usd(bestCost)} USD)`);
  return { reason: 'unmet', unmet: unmetOf(flags), message: `no target meets this model's routing constraints: ${parts.join(', ')}` };
}
