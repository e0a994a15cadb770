import { ConfigError } from '../../config/errors.ts';
import type { TargetKey } from '../health/view.ts';
import { DEFAULT_TOLERANCE, type RoutingConfig, type RoutingStrategy } from './routing-schema.ts';

/** Most targets a model may route over (each order is coded in 4 bits per slot; see order-code.ts). */
export const MAX_ROUTED_TARGETS = 8;

/**
 * A model's routing block checked against its targets and resolved once at config load, so the
 * hot path reads plain fields: weights per target index, the tolerance with its default.
 */
export interface CompiledRouting {
  readonly strategy: RoutingStrategy;
  /** `weighted`: weight per target index (≥ 0, at least one > 0); otherwise all 1. */
  readonly weights: readonly number[];
  /** `latency`: near-equal band, as a share of the fastest target's latency (0.2 = 20 %). */
  readonly tolerance: number;
  /** ms; undefined: no SLA. */
  readonly latencySlaMs: number | undefined;
  /** USD per request; undefined: no cap. */
  readonly maxPriceUsd: number | undefined;
  readonly onUnmet: 'best-available' | 'refuse';
}

/**
 * Resolves `routing` for a model whose targets have the keys `keys` (config order). Throws
 * ConfigError(source, `${where}.weights…`, what is wrong) for a weights list whose length is not
 * the number of targets, a weights map naming a target the model does not have, or weights that
 * are all 0.
 */
export function compileRouting(routing: RoutingConfig, keys: readonly TargetKey[], source: string, where: string): CompiledRouting {
  if (keys.length > MAX_ROUTED_TARGETS) throw new ConfigError(source, where, `at most ${MAX_ROUTED_TARGETS} targets can be routed, not ${keys.length}`);
  const weights = keys.map(() => 1);
  const w = routing.weights;
  if (Array.isArray(w)) {
    if (w.length !== keys.length) {
      throw new ConfigError(source, `${where}.weights`, `${w.length} weight(s) for ${keys.length} target(s): give one per target, in the order of targets`);
    }
    w.forEach((x, i) => (weights[i] = x));
  } else if (w !== undefined) {
    for (const [key, x] of Object.entries(w)) {
      const i = keys.indexOf(key);
      if (i < 0) throw new ConfigError(source, `${where}.weights.${key}`, `not a target of this model (its targets: ${keys.join(', ')})`);
      weights[i] = x;
    }
  }
  if (routing.strategy === 'weighted' && weights.every((x) => x === 0)) {
    throw new ConfigError(source, `${where}.weights`, 'at least one weight must be above 0');
  }
  return Object.freeze({
    strategy: routing.strategy,
    weights: Object.freeze(weights),
    tolerance: routing.tolerance ?? DEFAULT_TOLERANCE,
    latencySlaMs: routing.constraints.latencySlaMs,
    maxPriceUsd: routing.constraints.maxPriceUsd,
    onUnmet: routing.constraints.onUnmet,
  });
}
