import { z } from 'zod';
import { strictObject } from '../../config/strict-object.ts';

/**
 * gateway.yaml `models.<name>.routing:`: how a model orders its targets per request
 * (src/routing/strategy/order.ts applies it; compile.ts checks it against the targets).
 *
 * ```yaml
 * routing:
 *   strategy: latency            # priority (default) | weighted | latency | cost
 *   tolerance: 0.2               # latency: within 20 % of the fastest share the load
 *   weights: [3, 1]              # weighted: per target index, or { "openai/gpt-4o": 3 }
 *   constraints:
 *     latencySlaMs: 2000         # skip targets whose recent p95 is above 2 s
 *     maxPriceUsd: 0.05          # skip targets whose estimate for this request is above 0.05 USD
 *     onUnmet: best-available    # or refuse
 * ```
 */

export const ROUTING_STRATEGIES = ['priority', 'weighted', 'latency', 'cost'] as const;
export const routingStrategySchema = z.enum(ROUTING_STRATEGIES, {
  error: (iss) => `unknown strategy ${JSON.stringify(iss.input)} (expected: ${ROUTING_STRATEGIES.join(', ')})`,
});
export type RoutingStrategy = z.infer<typeof routingStrategySchema>;

/** A relative weight: any non-negative number; only ratios matter, 0 means "fallback only". */
const weightSchema = z.number({ error: 'a weight is a number ≥ 0' }).min(0, 'a weight is a number ≥ 0').max(1_000_000, 'a weight is at most 1,000,000');

/** `provider/model`, the target key (src/routing/health/view.ts). */
const targetKeyName = z.string().regex(/^[^/\s]+\/\S+$/, 'a target as "provider/model" (the provider\'s name, a slash, the provider\'s model)');

export const ON_UNMET = ['best-available', 'refuse'] as const;

export const routingConstraintsSchema = strictObject({
  /** Skip targets whose recent p95 latency (TTFT for streams, total time otherwise) is above this, ms. No samples: allowed. */
  latencySlaMs: z.number().int('latencySlaMs is whole milliseconds').min(1, 'latencySlaMs is at least 1 ms').max(600_000, 'latencySlaMs is at most 600,000 ms (10 min)').optional(),
  /** Skip targets whose cost estimate for the request (prompt + output limit) is above this, USD per request. */
  maxPriceUsd: z.number().gt(0, 'maxPriceUsd is a price in USD above 0').max(10_000, 'maxPriceUsd is at most 10,000 USD').optional(),
  /** When no target meets them: `best-available` routes anyway and says so in the explanation; `refuse` refuses the request. */
  onUnmet: z.enum(ON_UNMET, { error: (iss) => `onUnmet is ${ON_UNMET.join(' or ')}, not ${JSON.stringify(iss.input)}` }).default('best-available'),
});
export type RoutingConstraints = z.infer<typeof routingConstraintsSchema>;

/** Default latency tolerance band: targets within 20 % of the fastest are near-equal. */
export const DEFAULT_TOLERANCE = 0.2;

export const routingSchema = strictObject({
  strategy: routingStrategySchema.default('priority'),
  /**
   * `weighted` only: relative weights, per target index (a list as long as `targets`) or per
   * `provider/model` (unlisted targets weigh 1).
   */
  weights: z.union([z.array(weightSchema).min(1).max(8), z.record(targetKeyName, weightSchema)], {
    error: 'weights is a list of numbers (one per target) or a map "provider/model": number',
  }).optional(),
  /** `latency` only: share of the fastest target's latency within which targets are near-equal (0.2 = 20 %); default 0.2. */
  tolerance: z.number().min(0, 'tolerance is a share ≥ 0 (0.2 = 20 %)').max(10, 'tolerance is at most 10 (1,000 %)').optional(),
  constraints: routingConstraintsSchema.prefault({}),
}).superRefine((r, ctx) => {
  if (r.weights !== undefined && r.strategy !== 'weighted') {
    ctx.addIssue({ code: 'custom', path: ['weights'], message: `weights apply to strategy: weighted only (this model's strategy is ${r.strategy})` });
  }
  if (r.tolerance !== undefined && r.strategy !== 'latency') {
    ctx.addIssue({ code: 'custom', path: ['tolerance'], message: `tolerance applies to strategy: latency only (this model's strategy is ${r.strategy})` });
  }
});
export type RoutingConfig = z.infer<typeof routingSchema>;
