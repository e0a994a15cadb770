/**
 * Budgets as a policy step (pipeline.ts): spend limits in USD per key, feature and team over a
 * UTC period (gateway.yaml `budgets:`, budget-schema.ts), with a soft threshold that degrades to
 * cheaper models and a hard limit that refuses.
 *
 * admit (one `reserveSpend` in the common case, all budgets in one all-or-nothing call; on a
 * store that offers `sync`, the embedded one, that case answers without a promise):
 * 1. Every target in the request's plan may end up billing (a failover), so the reservation is
 *    the estimate (`estimateCost`: every prompt token at the dearest input rate and the whole
 *    output limit, × `n`) at the **most expensive** planned target.
 * 2. Refused: targets whose estimate exceeds the room the refusing budget has left are dropped
 *    from the plan (keeping attempt order) and the rest reserved again, until a plan fits or none
 *    is left. A plan of free targets only reserves nothing and is always admitted; a free
 *    model's paid fallbacks are dropped like any target the budget cannot cover (LiteLLM #41344).
 * 3. Past the soft threshold (settled spend + others' reservations ≥ softPercent of the limit, on
 *    any budget), or when nothing fits: the request goes to the first model of the degrade chain
 *    the key's scope grants and the budget can cover, with `x-gateway-degraded-from`.
 * 4. Nothing fits: 429 `budget_exceeded` naming the budget and its reset time (budget-errors.ts).
 * A changed model or plan is handed to the request path through `BudgetStepIO.replan`.
 *
 * settle: `settleSpend` with the cost the settlement carries (priced at the target that served;
 * 0 for a cache hit or when no provider billed), once. release: `releaseSpend`.
 *
 * **The in-flight overspend bound.** At every admission, settled spend + live reservations +
 * this reservation ≤ limit (the store's atomic check). So a budget's settled spend can exceed
 * its limit only by Σ over requests of max(0, actual − reserved), and actual > reserved happens
 * only when (a) the prompt had more tokens than the gateway's estimate (⌈chars / 4⌉ of the
 * text), (b) the provider produced more output than the reserved limit (possible only when the
 * caller set no `max_tokens`/`max_completion_tokens` and the provider does not receive the
 * model's `defaultMaxTokens`), or (c) a request outlived `reservationTtlSeconds`, so its
 * reservation stopped counting before it settled. With fail-open, an outage adds up to
 * (replicas − 1) × the room left when it began (budget-local.ts). A crash loses at most the
 * spend of the requests in flight (never settled), and their reservations expire after the TTL.
 */
import type { Caller, RuntimeModel } from '../config/runtime.ts';
import type { ChatRequest } from '../openai/chat-request.ts';
// ⌈chars / 4⌉ of the request's text: the estimate a cut stream is settled with, too.
import { estimateCost } from '../pricing/cost.ts';
import { buildRoutingPlan, type RoutingPlan } from '../routing/plan.ts';
import { planRequest } from '../routing/request-plan.ts';
import { requestOutputTokens } from './rate-limit-exchange.ts';
import { StateUnavailableError, type NanoUsd, type SpendCharge, type SpendReservation, type SpendStatus, type StateStore, type SyncStateCalls } from '../state/store.ts';
import { degradeChain, type BudgetPolicy, type BudgetRule } from './budget-config.ts';
import { BudgetExceededError } from './budget-errors.ts';
import { LocalSpendLedger } from './budget-local.ts';
import { periodAt } from './budget-period.ts';
import { scopeAllows } from './authorize-model.ts';
import { CONTINUE, type PolicyStep, type Verdict } from './pipeline.ts';
import { StateUnavailableRefusal } from './rate-limit-errors.ts';
import type { OnStateError } from './rate-limit-schema.ts';
import { OutageLog } from './outage-log.ts';
import type { StateFaultSink } from './rate-limit-outage.ts';
import type { Settlement } from './settlement.ts';

const NONE: readonly BudgetRule[] = Object.freeze([]);

/** The response header naming the public model the caller asked for, on a degraded request. */
export const DEGRADED_FROM_HEADER = 'x-gateway-degraded-from';

/** What the step reads of a request (the Exchange, in the gateway: budget-exchange.ts). */
export interface BudgetView {
  /** Unique per request: the reservation's id in the store. */
  readonly id: string;
  readonly policy: BudgetPolicy;
  readonly caller: Caller;
  /** Resolves degrade targets (RuntimeConfig: `models`, `aliases`). */
  readonly config: { readonly models: ReadonlyMap<string, RuntimeModel>; readonly aliases: ReadonlyMap<string, RuntimeModel> };
  readonly model: RuntimeModel;
  /** This request's targets in attempt order (src/routing/request-plan.ts). */
  readonly plan: RoutingPlan;
  readonly request: ChatRequest;
  /** The request's input-token estimate (estimatePromptTokens), computed once per request. */
  promptTokens(): number;
  /** When the request started, epoch ms: the prices and the period it is charged at. */
  readonly atMs: number;
}

/** A change the request path must apply before anything goes upstream. */
export interface BudgetReplan {
  /** The model to serve: the one asked for (targets dropped only) or a degrade target. */
  readonly model: RuntimeModel;
  /** Its plan: only targets the budget can cover, attempt order kept. */
  readonly plan: RoutingPlan;
  /** Set when degraded: the public model name the caller asked for. */
  readonly degradedFrom?: string;
}

export interface BudgetStepIO<T> {
  view(request: T): BudgetView | undefined;
  replan(request: T, change: BudgetReplan): void;
}

/**
 * Where state faults go (the rate-limit step's shape, so one counter serves both): `log` gets one
 * line when the backend becomes unavailable and one when it answers again; `onStateError` every
 * failed call (`policy: 'budget'`).
 */
export interface BudgetStepOptions extends StateFaultSink {
  store: StateStore;
  /** Clock for periods and reset times, epoch ms. Default Date.now. */
  now?: () => number;
  /** Most settlements kept for the store while it is unavailable (then the oldest are dropped and logged). */
  maxPendingSettlements?: number;
}

/** What one admitted request holds until it is settled or released. */
interface Held {
  readonly reservation: SpendReservation;
  /** Admitted by the local ledger during an outage (fail-open). */
  readonly local: boolean;
  readonly mode: OnStateError;
}

interface Attempted {
  readonly ok: true;
  readonly plan: RoutingPlan;
  /** Undefined when every kept target is free (nothing reserved). */
  readonly held: Held | undefined;
  readonly statuses: readonly SpendStatus[] | undefined;
  readonly amount: NanoUsd;
}
interface Refused {
  readonly ok: false;
  readonly rule: BudgetRule;
}

export function budgetStep<T extends object>(io: BudgetStepIO<T>, opts: BudgetStepOptions): PolicyStep<T, Settlement> {
  const { store, log } = opts;
  const now = opts.now ?? Date.now;
  const maxPending = opts.maxPendingSettlements ?? 10_000;
  const holds = new WeakMap<T, Held>();
  const local = new LocalSpendLedger();
  let outage = false;
  const outageLog = new OutageLog(log, opts.outageQuietMs, opts.outageClock);
  /** Settlements the store could not take yet (it was unavailable), oldest first. */
  const pending: Array<{ reservation: SpendReservation; actual: NanoUsd; mode: OnStateError }> = [];

  function down(err: unknown, mode: OnStateError): void {
    opts.onStateError?.({ policy: 'budget', operation: err instanceof StateUnavailableError ? err.operation : 'unknown', mode });
    outageLog.fault({ err, onStateError: mode }, `budgets: state backend unavailable, failing ${mode === 'fail-open' ? 'open' : 'closed'}`);
    if (outage) return;
    outage = true;
    local.reset();
  }

  function up(): void {
    outageLog.ok({ pendingSettlements: pending.length }, 'budgets: state backend available again');
    if (!outage) return;
    outage = false;
  }

  /**
   * Sends the settlements the store missed (idempotent per request id), oldest first; one flush
   * at a time. Runs before the next reservation, so spend of an outage lands before anything
   * new is admitted against it. False when the store still cannot answer.
   */
  let flushing: Promise<boolean> | undefined;
  function flush(): Promise<boolean> {
    flushing ??= (async () => {
      while (pending.length > 0) {
        const p = pending[0]!;
        try {
          await store.settleSpend(p.reservation, p.actual);
        } catch (err) {
          if (!(err instanceof StateUnavailableError)) throw err;
          down(err, p.mode);
          return false;
        }
        pending.shift();
        up();
      }
      return true;
    })().finally(() => (flushing = undefined));
    return flushing;
  }

  function keep(reservation: SpendReservation, actual: NanoUsd, mode: OnStateError): void {
    if (pending.length >= maxPending) {
      const dropped = pending.shift()!;
      log?.warn({ requestId: dropped.reservation.requestId, nanoUsd: dropped.actual }, 'budgets: spend dropped, too many settlements waiting for the state backend');
    }
    pending.push({ reservation, actual, mode });
  }

  /** Each planned target's estimate for the request, nano-USD (`prompt`: estimated prompt tokens). */
  function estimatesOf(v: BudgetView, prompt: number, model: RuntimeModel, plan: RoutingPlan): number[] {
    const output = requestOutputTokens(v.request, model.defaultMaxTokens);
    return plan.targets.map((i) => estimateCost(model.targets[i]!.price, prompt, output, v.atMs).nanoUsd);
  }

  /**
   * attempt's first reservation without a promise, on a store that answers synchronously
   * (embedded) with no settlement waiting to be re-sent: the whole plan at its dearest target.
   * Undefined when that is refused or the store faults: nothing was taken, and attempt (async)
   * goes through it again, dropping targets or applying the failure mode.
   */
  function attemptNow(v: BudgetView, charges: readonly SpendCharge[], prompt: number, sync: SyncStateCalls): Attempted | undefined {
    const estimates = estimatesOf(v, prompt, v.model, v.plan);
    let amount = 0;
    for (const e of estimates) if (e > amount) amount = e;
    if (amount === 0) return { ok: true, plan: v.plan, held: undefined, statuses: undefined, amount };
    const partition = v.caller.team;
    let result;
    try {
      result = sync.reserveSpend(v.id, partition, charges, amount, v.policy.reservationTtlMs);
    } catch (err) {
      if (err instanceof StateUnavailableError) return undefined;
      throw err;
    }
    if (!result.granted) return undefined;
    up();
    for (const st of result.charges) local.observe(partition, st, amount);
    return { ok: true, plan: v.plan, held: { reservation: result.reservation, local: false, mode: v.policy.onStateError }, statuses: result.charges, amount };
  }

  /** Reserves for `model` over `plan` (`prompt`: estimated prompt tokens), dropping the targets the budgets cannot cover. */
  async function attempt(v: BudgetView, rules: readonly BudgetRule[], charges: readonly SpendCharge[], prompt: number, model: RuntimeModel, plan: RoutingPlan): Promise<Attempted | Refused> {
    const estimates = estimatesOf(v, prompt, model, plan);
    const partition = v.caller.team;
    // Must outlive any request (envoy.yaml: request_timeout 120 s for the body, then the route's
    // 300 s timeout), or a long stream stops counting before it settles; the 900 s default is
    // ~2× that. A longer TTL costs no store time (O(1) per call), only phantom spend after a crash.
    const ttl = v.policy.reservationTtlMs;
    let room = Number.POSITIVE_INFINITY;
    let refused: BudgetRule = rules[0]!;
    for (;;) {
      // A free target fits any budget, also one spent past its limit.
      const fits = (j: number): boolean => estimates[j] === 0 || estimates[j]! <= room;
      const kept = plan.targets.filter((_, j) => fits(j));
      if (kept.length === 0) return { ok: false, rule: refused };
      const keptPlan = kept.length === plan.targets.length ? plan : buildRoutingPlan(model.targets, kept);
      let amount = 0;
      plan.targets.forEach((_, j) => {
        if (fits(j) && estimates[j]! > amount) amount = estimates[j]!;
      });
      if (amount === 0) return { ok: true, plan: keptPlan, held: undefined, statuses: undefined, amount };
      let result;
      let isLocal = false;
      try {
        if (pending.length > 0 && !(await flush())) throw new StateUnavailableError(store.backend, 'settleSpend', 'earlier settlements still pending');
        result = await store.reserveSpend(v.id, partition, charges, amount, ttl);
        up();
      } catch (err) {
        if (!(err instanceof StateUnavailableError)) throw err;
        down(err, v.policy.onStateError);
        if (v.policy.onStateError === 'fail-closed') throw new StateUnavailableRefusal('budgets', err);
        result = local.reserve(v.id, partition, charges, amount, ttl, now());
        isLocal = true;
      }
      if (result.granted) {
        if (!isLocal) for (const s of result.charges) local.observe(partition, s, amount);
        return { ok: true, plan: keptPlan, held: { reservation: result.reservation, local: isLocal, mode: v.policy.onStateError }, statuses: result.charges, amount };
      }
      if (!isLocal) local.observe(partition, result.status, 0);
      const s = result.status;
      refused = rules[result.refusedIndex]!;
      // The refusing budget's room; each refusal drops at least the dearest kept target.
      room = Math.min(room, (s.limit ?? Number.POSITIVE_INFINITY) - s.spent - s.reserved);
    }
  }

  async function undo(held: Held | undefined): Promise<void> {
    if (!held) return;
    if (held.local) return local.settle(held.reservation, undefined);
    try {
      const sync = store.sync;
      if (sync) return sync.releaseSpend(held.reservation);
      await store.releaseSpend(held.reservation);
    } catch {
      // The reservation expires by itself after its TTL.
    }
  }

  /** The models of the chain the key may use and that can serve the request, with their plans. */
  function candidates(v: BudgetView, chain: readonly string[]): Array<{ model: RuntimeModel; plan: RoutingPlan }> {
    const out: Array<{ model: RuntimeModel; plan: RoutingPlan }> = [];
    for (const name of chain) {
      const m = v.config.models.get(name) ?? v.config.aliases.get(name);
      if (!m || !scopeAllows(v.caller.scope, m)) continue;
      try {
        out.push({ model: m, plan: planRequest(m, v.request) });
      } catch {
        // No target of that model can serve this request (a CapabilityError): try the next.
      }
    }
    return out;
  }

  /** The budgets a granted reservation finds past their soft threshold (others' spend and reservations, not its own). */
  function pastSoftOf(rules: readonly BudgetRule[], first: Attempted): readonly BudgetRule[] {
    const st = first.statuses;
    if (!st) return NONE;
    let out: BudgetRule[] | undefined;
    for (let i = 0; i < rules.length; i++) if (st[i]!.spent + st[i]!.reserved - first.amount >= rules[i]!.softNanoUsd) (out ??= []).push(rules[i]!);
    return out ?? NONE;
  }

  function admit(request: T, v: BudgetView, rules: readonly BudgetRule[]): Verdict | Promise<Verdict> {
    const charges: SpendCharge[] = rules.map((r) => ({ subject: r.subject, period: periodAt(r.period, v.atMs).id, limit: r.limitNanoUsd }));
    const prompt = v.promptTokens();
    // The common case on the embedded store, without a promise: granted, no budget past its soft threshold.
    const sync = store.sync;
    const first = sync && pending.length === 0 ? attemptNow(v, charges, prompt, sync) : undefined;
    if (first) {
      const pastSoft = pastSoftOf(rules, first);
      if (pastSoft.length === 0) return accept(request, v, first, undefined);
      return degrade(request, v, rules, charges, prompt, first, pastSoft);
    }
    return admitAsync(request, v, rules, charges, prompt);
  }

  async function admitAsync(request: T, v: BudgetView, rules: readonly BudgetRule[], charges: readonly SpendCharge[], prompt: number): Promise<Verdict> {
    const first = await attempt(v, rules, charges, prompt, v.model, v.plan);
    let pastSoft: readonly BudgetRule[];
    if (first.ok) {
      pastSoft = pastSoftOf(rules, first);
      if (pastSoft.length === 0) return accept(request, v, first, undefined);
    } else {
      pastSoft = [first.rule];
    }
    return degrade(request, v, rules, charges, prompt, first, pastSoft);
  }

  /** Past a soft threshold, or nothing fits: the degrade chain, else the model asked for if it still fits, else 429. */
  async function degrade(
    request: T,
    v: BudgetView,
    rules: readonly BudgetRule[],
    charges: readonly SpendCharge[],
    prompt: number,
    first: Attempted | Refused,
    pastSoft: readonly BudgetRule[],
  ): Promise<Verdict> {
    const chain = candidates(v, degradeChain(v.policy, pastSoft, v.model.name, v.model.aliasOf));
    if (chain.length === 0) {
      if (first.ok) return accept(request, v, first, undefined);
      throw refusal(v, first.rule);
    }
    // The reservation for the model asked for gives way to the degrade target's.
    if (first.ok) await undo(first.held);
    for (const c of chain) {
      const r = await attempt(v, rules, charges, prompt, c.model, c.plan);
      if (r.ok) return accept(request, v, r, c.model);
    }
    // No degrade target fits: the model asked for, if it still does.
    const again = first.ok ? await attempt(v, rules, charges, prompt, v.model, v.plan) : first;
    if (again.ok) return accept(request, v, again, undefined);
    throw refusal(v, again.rule);
  }

  function refusal(v: BudgetView, rule: BudgetRule): BudgetExceededError {
    const nowMs = now();
    return new BudgetExceededError({ rule, model: v.model.name, resetAtMs: periodAt(rule.period, v.atMs).endMs, nowMs });
  }

  function accept(request: T, v: BudgetView, a: Attempted, degradedTo: RuntimeModel | undefined): Verdict {
    if (a.held) holds.set(request, a.held);
    if (degradedTo) {
      io.replan(request, { model: degradedTo, plan: a.plan, degradedFrom: v.model.name });
      return { kind: 'continue', headers: { [DEGRADED_FROM_HEADER]: v.model.name } };
    }
    if (a.plan !== v.plan) io.replan(request, { model: v.model, plan: a.plan });
    return CONTINUE;
  }

  return {
    id: 'budget',
    admit(request: T): Verdict | Promise<Verdict> {
      const v = io.view(request);
      if (!v || v.policy.empty) return CONTINUE;
      const rules = v.policy.rulesFor(v.caller);
      // No budget applies: answered synchronously, no promise, no store call.
      if (rules.length === 0) return CONTINUE;
      return admit(request, v, rules);
    },
    release(request: T): Promise<void> | void {
      const held = holds.get(request);
      holds.delete(request);
      if (held) return undo(held);
    },
    settle(request: T, settlement: Settlement): Promise<void> | void {
      const held = holds.get(request);
      holds.delete(request);
      if (!held) return;
      const actual = settlement.cacheHit ? 0 : (settlement.costNanoUsd ?? 0);
      if (held.local) local.settle(held.reservation, actual);
      // Not an async function: one promise per settlement (the store's), not three.
      let settling: Promise<boolean>;
      try {
        settling = store.settleSpend(held.reservation, actual);
      } catch (err) {
        settling = Promise.reject(err);
      }
      return settling.then(
        () => up(),
        (err: unknown) => {
          if (!(err instanceof StateUnavailableError)) throw err;
          down(err, held.mode);
          // Spend is never dropped: sent when the store answers again, and counted here meanwhile.
          keep(held.reservation, actual, held.mode);
          if (!held.local) local.settle(held.reservation, actual);
        },
      );
    },
  };
}
