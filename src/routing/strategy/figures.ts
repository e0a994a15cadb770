/**
 * Per-decision figures, one Float64Array of FIGURES_PER_TARGET slots per target (one
 * allocation per request, read by the lazy explanation): the strategy's score, the cost
 * estimate (USD, NaN when not needed), the p95 for the request's kind (ms, NaN without
 * samples) and the verdict flags below. NaN score: a latency target without samples.
 */
export const FIGURES_PER_TARGET = 4;
export const SCORE = 0;
export const COST_USD = 1;
export const P95_MS = 2;
export const FLAGS = 3;

export const CAPABILITY = 1;
export const BREAKER = 2;
export const COOLING = 4;
export const SLA = 8;
export const PRICE = 16;
/** At its provider limit (set after ordering, by the provider-limit step: src/routing/limits/); never in the order. */
export const LIMIT = 32;
/** Health flags: the target goes last, only when no healthy target can serve. */
export const UNHEALTHY = BREAKER | COOLING;
/** Constraint flags: the target serves only when no target meets the constraints (best-available). */
export const CONSTRAINTS = SLA | PRICE;

export const score = (figures: Float64Array, i: number): number => figures[i * FIGURES_PER_TARGET + SCORE]!;
