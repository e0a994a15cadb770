import type { Exchange } from '../exchange/exchange.ts';
import type { BudgetStepIO, BudgetView } from './budget.ts';
import { withTimeouts } from '../routing/route-request.ts';

/**
 * The budget step's view of an Exchange (budget.ts), or undefined before the caller, model, plan
 * and request are known (then the step admits without counting: nothing can go upstream).
 * Prices and the period are those of the second the request started (`created`), as
 * costOfExchange prices it, so the reservation and the settled cost use the same rates.
 */
export function exchangeBudgetView(ex: Exchange): BudgetView | undefined {
  if (!ex.caller || !ex.model || !ex.plan || !ex.request) return undefined;
  return {
    id: ex.id,
    policy: ex.config.budgets,
    caller: ex.caller,
    config: ex.config,
    model: ex.model,
    plan: ex.plan,
    request: ex.request,
    promptTokens: () => ex.promptTokenEstimate(),
    atMs: ex.created * 1000,
  };
}

/**
 * The budget step on the Exchange. A replan replaces `ex.model` and `ex.plan` before the first
 * attempt is prepared (the router sends the first attempt from them after the pipeline): a
 * degraded request is then translated for the degrade target (its provider model name goes into
 * the body), answers with that model's name, and is priced by costOfExchange at the target that
 * served. `ex.request.model` keeps what the caller asked for.
 */
export const exchangeBudgetIO: BudgetStepIO<Exchange> = {
  view: exchangeBudgetView,
  replan(ex, change) {
    ex.model = change.model;
    // A re-made plan keeps the serving model's timeouts (src/routing/upstream-timeouts.ts).
    ex.plan = withTimeouts(change.model, change.plan);
  },
};
