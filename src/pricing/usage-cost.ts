import type { Exchange } from '../exchange/exchange.ts';
import type { Usage } from '../openai/usage.ts';
import { costOf } from './cost.ts';

/**
 * `usage.cost` in the answer's usage, for keys that opt in (gateway.yaml `usageCost: true`, or
 * the admin API's `usageCost`), following OpenRouter's usage accounting: `cost` is a number in
 * USD next to the token counts of the final usage (a stream's usage chunk, a JSON answer's
 * `usage`). The OpenAI schema's CompletionUsage does not forbid extra properties, and the
 * `openai` SDKs keep unknown fields, so callers read it as `usage.cost`.
 *
 * Returns the pricer for this exchange, or undefined when the key did not opt in or no target
 * answered yet. The price is the one the log line's `cost_usd` uses (costOfExchange): the target
 * of the last attempt (a failover is priced at the fallback), at the second the request started,
 * rounded to whole nano-USD, so both give the same number for the same usage.
 */
export function usageCostFor(ex: Exchange): ((usage: Usage) => number) | undefined {
  const attempt = ex.lastAttempt;
  if (ex.caller?.usageCost !== true || !attempt || !ex.model) return undefined;
  const target = ex.model.targets.find((t) => t.provider === attempt.provider && t.model === attempt.providerModel);
  if (!target) return undefined;
  const atMs = ex.created * 1000;
  return (usage) => costOf(target.price, usage, atMs).usd;
}

/** `{ costOf }` for a StreamContext when the key opted in, else `{}` (no `cost` in the usage chunk). */
export function withUsageCost(ex: Exchange): { costOf?: (usage: Usage) => number } {
  const costOf = usageCostFor(ex);
  return costOf ? { costOf } : {};
}
