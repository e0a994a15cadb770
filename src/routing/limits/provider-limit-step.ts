/**
 * Provider limits as a policy step (src/policy/pipeline.ts), the last one: a request the
 * response cache answers, or another step refuses, spends no provider quota. Issue 9, item 4.
 *
 * - admit: scans the request's attempt order (target-scan.ts): a target cooling down after a
 *   provider 429 is passed over; a target with `providers.<name>.limits` gets one reservation
 *   in the state layer's sliding windows (1 request, the token estimate), and is passed over
 *   when it is refused (at or near its limit). The first target left is moved to the front (it
 *   holds the reservation), limited targets leave the order, the rest stay as fallbacks; the
 *   explanation lists the limited ones with reason `limit`. Nothing skipped: the plan is kept
 *   as it is (one health read and, for a limited first target, one reservation).
 * - every target cooling or limited: waits (exhausted-wait.ts) up to
 *   `routing.health.rateLimited.maxWaitMs`, re-routing after each sleep; still none:
 *   ProviderCapacityError (429, retry-after = when the earliest target frees).
 * - settle: the reserved target served → its reservation becomes 1 request and the reported
 *   tokens (prompt + completion; the estimate for a cut stream). Another target served after a
 *   failover → the reserved one is released (0 and 0) and the serving one charged what it used
 *   (best effort: it was already sent, so its charge is never refused). No target served (an
 *   error answer) → 1 request, 0 tokens on the reserved target, if it was tried, else released.
 * - release: the reservation is given back (never reached a provider).
 *
 * The state backend's faults fail open here (the target is used without a reservation; each
 * fault counted as `gateway_policy_state_errors_total{policy="provider-limit"}`): the provider's
 * own 429 and the cool-down still protect it, while failing closed would stop all traffic.
 * With a store that answers synchronously (embedded) admit and settle cost no promise.
 */
import { setTimeout as sleepFor } from 'node:timers/promises';
import { UpstreamError } from '../../errors/gateway-error.ts';
import { CONTINUE, type PolicyStep, type Verdict } from '../../policy/pipeline.ts';
import { StateOutage, type StateFaultSink } from '../../policy/rate-limit-outage.ts';
import { settledTokens } from '../../policy/rate-limit.ts';
import type { Settlement } from '../../policy/settlement.ts';
import { StateUnavailableError } from '../../state/errors.ts';
import type { ReserveResult, StateStore, WindowCharge } from '../../state/store.ts';
import { UNMEASURED, type HealthView } from '../health/view.ts';
import { ProviderCapacityError } from './capacity-error.ts';
import { waitForCapacity, type WaitClock } from './exhausted-wait.ts';
import type { ProviderLimitPolicy } from './provider-limits.ts';
import { scanTargets, type HeldTarget, type Scan, type ScannedTarget } from './target-scan.ts';

export const PROVIDER_LIMIT_STEP_ID = 'provider-limit';

/** What the step needs of one request. */
export interface ProviderLimitView {
  /** The gateway's request id; the reservation's id is derived from it. */
  readonly requestId: string;
  /** The public model name (for the 429 text). */
  readonly model: string;
  /** The model's targets, config order. */
  readonly targets: readonly ScannedTarget[];
  /** The attempt order as routing (and the budget step) left it. */
  readonly order: readonly number[];
  readonly limits: ProviderLimitPolicy;
  /** `routing.health.rateLimited.maxWaitMs`. */
  readonly maxWaitMs: number;
  /** Tokens to reserve: prompt estimate + output limit × n (as the rate-limit step estimates). */
  tokenEstimate(): number;
  /** Aborted when the caller's stream closes: ends a wait. */
  readonly signal: AbortSignal | undefined;
  /** Puts `order` in place (plan and explanation); `limited` are the targets left out at their limits. Empty order: the 429's explanation. */
  reorder(order: readonly number[], limited: ReadonlyMap<number, string>): void;
  /**
   * Routes the request again at `nowMs`, with the `limited` targets left out (reported as
   * `limit` with these figures): the new order, within the targets it may use. After a wait,
   * and when a target was at its limit (the strategy's fallbacks then take its place).
   */
  reroute(nowMs: number, limited: ReadonlyMap<number, string>): readonly number[];
}

/** What settle needs to know of how the request went. */
export interface ProviderLimitOutcome {
  /** The target whose answer the caller got (a 2xx from a provider); undefined: none. */
  readonly served: ScannedTarget | undefined;
  /** Whether an attempt went to this target. */
  attempted(key: string): boolean;
}

export interface ProviderLimitStepOptions<T> extends StateFaultSink {
  readonly store: StateStore;
  /** Cool-downs (coolingUntilMs); undefined: nothing cools down. */
  readonly health: () => HealthView | undefined;
  readonly view: (request: T) => ProviderLimitView | undefined;
  readonly outcome: (request: T) => ProviderLimitOutcome;
  /** Default: Date.now, Math.random, node:timers/promises setTimeout with the signal. */
  readonly clock?: WaitClock;
}

interface Held {
  /** The chosen target's reservation; undefined when it has no limits (a failover may still land on one that has). */
  readonly target: HeldTarget | undefined;
  readonly reservationId: string;
  readonly limits: ProviderLimitPolicy;
}

const REAL_CLOCK: WaitClock = {
  now: Date.now,
  random: Math.random,
  sleep: (ms, signal) => sleepFor(ms, undefined, signal ? { signal } : undefined),
};

const NO_HEALTH: HealthView = { get: () => UNMEASURED };

export function providerLimitStep<T extends object>(opts: ProviderLimitStepOptions<T>): PolicyStep<T, Settlement> {
  const { store } = opts;
  const clock = opts.clock ?? REAL_CLOCK;
  const outage = new StateOutage(PROVIDER_LIMIT_STEP_ID, opts);
  // Each request reserved, settled or released once: the entry is removed before the call.
  const held = new WeakMap<T, Held>();

  const reserveFor = (reservationId: string) => (partition: string, charges: readonly WindowCharge[]) => {
    const fault = (err: unknown): undefined => {
      if (!(err instanceof StateUnavailableError)) throw err;
      outage.fault('reserve', 'fail-open', err);
      return undefined;
    };
    try {
      if (!store.isReady()) throw new StateUnavailableError(store.backend, 'reserve', 'not connected');
      const r: ReserveResult | Promise<ReserveResult> = store.sync ? store.sync.reserve(reservationId, partition, charges) : store.reserve(reservationId, partition, charges);
      if (r instanceof Promise) {
        return r.then((x) => {
          outage.ok();
          return x;
        }, fault);
      }
      outage.ok();
      return r;
    } catch (err) {
      return fault(err);
    }
  };

  function scan(v: ProviderLimitView, order: readonly number[], nowMs: number, reservationId: string, from?: Scan): Scan | Promise<Scan> {
    return scanTargets({ targets: v.targets, order, nowMs, health: opts.health() ?? NO_HEALTH, limits: v.limits, tokens: () => v.tokenEstimate(), reserve: reserveFor(reservationId) }, from);
  }

  /**
   * Scans `order`; when a target was at its limit, routes again with the limited targets left
   * out (so the strategy's fallbacks, cooling and open-breaker targets included, take their
   * place) and, if none was chosen yet, scans what is new. `rerouted`: the order is no longer the plan's.
   */
  function route(v: ProviderLimitView, order: readonly number[], nowMs: number, reservationId: string, rerouted: boolean): Routed | Promise<Routed> {
    const next = (s: Scan): Routed | Promise<Routed> => {
      if (s.limited.size === 0) return { scan: s, order, rerouted };
      const again = v.reroute(nowMs, s.limited);
      if (s.chosen >= 0) return { scan: s, order: again, rerouted: true };
      const more = scan(v, again, nowMs, reservationId, s);
      return more instanceof Promise ? more.then((m) => ({ scan: m, order: again, rerouted: true })) : { scan: more, order: again, rerouted: true };
    };
    const s = scan(v, order, nowMs, reservationId);
    return s instanceof Promise ? s.then(next) : next(s);
  }

  /** Applies a route that chose a target: it goes first (it holds the reservation), limited targets leave, the rest stay as fallbacks. */
  function accept(request: T, v: ProviderLimitView, r: Routed, reservationId: string): Verdict {
    const s = r.scan;
    if (!v.limits.empty) held.set(request, { target: s.held, reservationId, limits: v.limits });
    if (r.rerouted || r.order[0] !== s.chosen || s.limited.size > 0) {
      v.reorder([s.chosen, ...r.order.filter((i) => i !== s.chosen && !s.limited.has(i))], s.limited);
    }
    return CONTINUE;
  }

  async function wait(request: T, v: ProviderLimitView, first: Routed, reservationId: string): Promise<Verdict> {
    let last = first;
    let out;
    try {
      out = await waitForCapacity(
        first.scan,
        (s) => s.chosen >= 0,
        async (nowMs) => (last = await route(v, v.reroute(nowMs, NO_LIMITED), nowMs, reservationId, true)).scan,
        { maxWaitMs: v.maxWaitMs, clock, signal: v.signal },
      );
    } catch (err) {
      if (v.signal?.aborted) throw new UpstreamError(499, 'invalid_request_error', 'The request was closed while it waited for a provider.', { code: 'client_closed_request', cause: err });
      throw err;
    }
    if (out.scan.chosen >= 0) return accept(request, v, last, reservationId);
    v.reorder([], out.scan.limited);
    throw new ProviderCapacityError(v.model, Number.isFinite(out.scan.freeInMs) ? out.scan.freeInMs : null, out.waitedMs);
  }

  function decide(request: T, v: ProviderLimitView, r: Routed, reservationId: string): Verdict | Promise<Verdict> {
    if (r.scan.chosen >= 0) return accept(request, v, r, reservationId);
    return wait(request, v, r, reservationId);
  }

  /** Runs a settle or release; a backend fault is counted (the window keeps the reservation: the safe side). */
  function finish(run: () => boolean | Promise<boolean>, operation: 'settle' | 'release'): void | Promise<void> {
    const fault = (err: unknown): void => {
      if (!(err instanceof StateUnavailableError)) throw err;
      outage.fault(operation, 'fail-open', err);
    };
    try {
      const r = run();
      if (r instanceof Promise) return r.then(() => outage.ok(), fault);
      outage.ok();
    } catch (err) {
      fault(err);
    }
  }

  const settleCall = (t: HeldTarget, amounts: readonly number[]) => (): boolean | Promise<boolean> =>
    store.sync ? store.sync.settle(t.reservation, amounts) : store.settle(t.reservation, amounts);
  const releaseCall = (t: HeldTarget) => (): boolean | Promise<boolean> => (store.sync ? store.sync.release(t.reservation) : store.release(t.reservation));

  /** Charges the target that served after a failover what it used: reserved past any limit (it was sent), then settled. */
  function chargeServing(h: Held, served: ScannedTarget, tokens: number): void | Promise<void> {
    const rules = h.limits.rulesFor(served.key);
    if (rules.length === 0) return;
    const charges = rules.map((r) => ({ counter: r.counter, amount: r.unit === 'requests' ? 1 : tokens, limit: Number.MAX_SAFE_INTEGER, windowMs: r.windowMs }));
    const id = `${h.reservationId}/served`;
    const partition = h.limits.partitionOf(served.provider.name);
    const settleAll = (r: ReserveResult): boolean | Promise<boolean> => {
      if (!r.granted) return false;
      const amounts = r.reservation.charges.map((c) => c.amount);
      return store.sync ? store.sync.settle(r.reservation, amounts) : store.settle(r.reservation, amounts);
    };
    return finish(() => {
      if (store.sync) return settleAll(store.sync.reserve(id, partition, charges));
      return store.reserve(id, partition, charges).then(settleAll);
    }, 'settle');
  }

  return {
    id: PROVIDER_LIMIT_STEP_ID,

    admit(request: T): Verdict | Promise<Verdict> {
      const v = opts.view(request);
      if (!v || v.order.length === 0) return CONTINUE;
      const nowMs = clock.now();
      const health = opts.health() ?? NO_HEALTH;
      // The common case costs one health read: no provider limits, and the first target not cooling.
      if (v.limits.empty && !((health.get(v.targets[v.order[0]!]!.key, nowMs).coolingUntilMs ?? 0) > nowMs)) return CONTINUE;
      const reservationId = `${v.requestId}/provider`;
      const r = route(v, v.order, nowMs, reservationId, false);
      return r instanceof Promise ? r.then((x) => decide(request, v, x, reservationId)) : decide(request, v, r, reservationId);
    },

    release(request: T): void | Promise<void> {
      const h = held.get(request);
      if (!h) return;
      held.delete(request);
      if (h.target) return finish(releaseCall(h.target), 'release');
    },

    settle(request: T, settlement: Settlement): void | Promise<void> {
      const h = held.get(request);
      if (!h) return;
      held.delete(request);
      const o = opts.outcome(request);
      const tokens = settledTokens(settlement);
      const t = h.target;
      const used = (x: HeldTarget): number[] => x.rules.map((r) => (r.unit === 'requests' ? 1 : tokens));
      if (o.served === undefined) {
        if (!t) return;
        if (!o.attempted(t.key)) return finish(releaseCall(t), 'release');
        return finish(settleCall(t, used(t)), 'settle');
      }
      if (t && o.served.key === t.key) return finish(settleCall(t, used(t)), 'settle');
      const released = t ? finish(releaseCall(t), 'release') : undefined;
      const charged = chargeServing(h, o.served, tokens);
      if (released instanceof Promise || charged instanceof Promise) return Promise.all([released, charged]).then(() => undefined);
    },
  };
}

const NO_LIMITED: ReadonlyMap<number, string> = new Map();

/** A scan and the order it ran over. */
interface Routed {
  readonly scan: Scan;
  readonly order: readonly number[];
  /** The order came from routing again (not the plan's): the plan must follow it. */
  readonly rerouted: boolean;
}
