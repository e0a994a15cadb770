import type { Exchange } from '../exchange/exchange.ts';
import { costOf } from './cost.ts';
import type { Cost } from './types.ts';

/** The response header that carries a JSON answer's cost: USD as a plain decimal (formatUsd), e.g. `0.000123`. */
export const COST_HEADER = 'x-gateway-cost-usd';

/**
 * What a request cost, priced at the target that served it (the last attempt: a failover is
 * charged at the fallback's price, never the first target's) from the usage the provider
 * reported (or the gateway's estimate for a stream cut before the provider counted), at the
 * second the request started. Undefined when no provider answered with usage (refused,
 * Envoy's own reply, an error answer).
 */
export function costOfExchange(ex: Exchange): Cost | undefined {
  const attempt = ex.lastAttempt;
  if (!ex.usage || !attempt || !ex.model || ex.envoyLocalReply) return undefined;
  // At most 4 targets, compared by reference: the attempt records its provider and model name.
  const target = ex.model.targets.find((t) => t.provider === attempt.provider && t.model === attempt.providerModel);
  if (!target) return undefined;
  return costOf(target.price, ex.usage, ex.created * 1000);
}
