/**
 * Rate limits as a policy step (src/policy/pipeline.ts): requests and tokens per minute and per
 * day, for the caller's key, its team and its feature (gateway.yaml `rateLimits:`,
 * src/policy/rate-limit-schema.ts), counted by the state layer's sliding windows
 * (src/state/sliding-window.ts: no window of the configured length ever holds more than the
 * limit in reservations; a request may be refused up to window/N early).
 *
 * - admit: one `store.reserve` for every configured window (all-or-nothing, one round trip;
 *   without a promise on a store that offers `sync`, the embedded one; so are settle and release):
 *   requests 1, tokens the estimate (RateLimitView.tokenEstimate). Granted: continue with
 *   OpenAI's `x-ratelimit-*` headers (rate-limit-headers.ts). Over a limit: 429
 *   (RateLimitExceededError). Backend fault: the configured `onStateError`.
 * - release: the reservation is given back (a later step refused, or no provider was called).
 * - settle: tokens become what the provider reported (prompt + completion; the gateway's
 *   estimate for a cut stream, which still spent them), 0 for a cache hit or when no provider
 *   answered; requests stay 1. Exactly once per request.
 */
import { EmbeddedStateStore } from '../state/embedded/store.ts';
import { StateUnavailableError } from '../state/errors.ts';
import type { ReserveResult, StateStore, SyncStateCalls, WindowCharge, WindowReservation } from '../state/store.ts';
import { CONTINUE, type PolicyStep, type Verdict } from './pipeline.ts';
import type { LimitRule, LimitUnit, RateLimitPolicy } from './rate-limit-config.ts';
import { RateLimitExceededError, StateUnavailableRefusal } from './rate-limit-errors.ts';
import { grantedHeaders } from './rate-limit-headers.ts';
import { StateOutage, type StateFaultSink } from './rate-limit-outage.ts';
import type { Settlement } from './settlement.ts';

/** What the step needs to know of one request. */
export interface RateLimitView {
  /** The gateway's request id: the reservation's id in the state layer. */
  readonly requestId: string;
  readonly caller: { readonly name: string; readonly team: string; readonly feature?: string };
  /** The limits in force (the request's config version). */
  readonly policy: RateLimitPolicy;
  /** The public model name the caller asked for (for the 429 text). */
  readonly model: string;
  /** Tokens to reserve (input estimate + output limit); called only when a token limit applies. */
  tokenEstimate(): number;
}

export interface RateLimitStepOptions<T> extends StateFaultSink {
  /** The shared state (Redis for a fleet, embedded for one replica). */
  readonly store: StateStore;
  /** The step's view of a request; undefined: nothing to limit (no caller or model yet). */
  readonly view: (request: T) => RateLimitView | undefined;
  /**
   * Local counters while `store` is down and the policy is `fail-open`. Default: an in-memory
   * embedded store, created at the first outage.
   */
  readonly fallback?: StateStore;
}

/** A rate-limit step; `close` releases the fail-open fallback's counters. */
export interface RateLimitStep<T> extends PolicyStep<T, Settlement> {
  close(): Promise<void>;
}

interface Held {
  readonly store: StateStore;
  readonly reservation: WindowReservation;
  readonly units: readonly LimitUnit[];
  readonly mode: RateLimitPolicy['onStateError'];
}

export const RATE_LIMIT_STEP_ID = 'rate-limit';

/** Each rule's unit, per rules array (rulesFor returns the same frozen array for a caller): one array, not one per request. */
const unitsByRules = new WeakMap<readonly LimitRule[], readonly LimitUnit[]>();
function unitsOf(rules: readonly LimitRule[]): readonly LimitUnit[] {
  let units = unitsByRules.get(rules);
  if (!units) unitsByRules.set(rules, (units = Object.freeze(rules.map((r) => r.unit))));
  return units;
}

export function rateLimitStep<T extends object>(opts: RateLimitStepOptions<T>): RateLimitStep<T> {
  const { store, view } = opts;
  const outage = new StateOutage(RATE_LIMIT_STEP_ID, opts);
  // One reservation per request, settled or released once: the entry is removed before the call.
  const held = new WeakMap<T, Held>();
  let fallback = opts.fallback;
  const local = (): StateStore => (fallback ??= new EmbeddedStateStore({ sqlitePath: ':memory:' }));

  /** The verdict on a reservation's result: continue with the headers, or 429. */
  function decide(request: T, v: RateLimitView, rules: readonly LimitRule[], charges: readonly WindowCharge[], result: ReserveResult, target: StateStore): Verdict {
    if (!result.granted) {
      throw new RateLimitExceededError({
        rule: rules[result.refusedIndex]!,
        model: v.model,
        used: result.used,
        requested: charges[result.refusedIndex]!.amount,
        retryAfterMs: result.retryAfterMs,
      });
    }
    held.set(request, { store: target, reservation: result.reservation, units: unitsOf(rules), mode: v.policy.onStateError });
    return { kind: 'continue', headers: grantedHeaders(rules, result.charges) };
  }

  /** The store could not answer: the configured policy (fail-closed: 503; fail-open: the local counters). */
  async function onFault(request: T, v: RateLimitView, rules: readonly LimitRule[], charges: readonly WindowCharge[], err: unknown): Promise<Verdict> {
    if (!(err instanceof StateUnavailableError)) throw err;
    const mode = v.policy.onStateError;
    outage.fault('reserve', mode, err);
    if (mode === 'fail-closed') throw new StateUnavailableRefusal('rate limits', err);
    const target = local();
    return decide(request, v, rules, charges, await target.reserve(v.requestId, v.caller.team, charges), target);
  }

  async function reserve(request: T, v: RateLimitView, rules: readonly LimitRule[], charges: WindowCharge[]): Promise<Verdict> {
    let result;
    try {
      // A disconnected Redis fails every call at once; skip the call, apply the policy.
      if (!store.isReady()) throw new StateUnavailableError(store.backend, 'reserve', 'not connected');
      result = await store.reserve(v.requestId, v.caller.team, charges);
      outage.ok();
    } catch (err) {
      return onFault(request, v, rules, charges, err);
    }
    return decide(request, v, rules, charges, result, store);
  }

  /** The same without a promise, on a store that answers synchronously (embedded); a fault goes to the async fallback. */
  function reserveNow(request: T, v: RateLimitView, rules: readonly LimitRule[], charges: WindowCharge[], sync: SyncStateCalls): Verdict | Promise<Verdict> {
    let result;
    try {
      if (!store.isReady()) throw new StateUnavailableError(store.backend, 'reserve', 'not connected');
      result = sync.reserve(v.requestId, v.caller.team, charges);
      outage.ok();
    } catch (err) {
      return onFault(request, v, rules, charges, err);
    }
    return decide(request, v, rules, charges, result, store);
  }

  /** Runs a settle or release; a backend fault is counted (the window keeps the reservation: safe side). */
  async function finish(h: Held, operation: 'settle' | 'release', run: () => Promise<boolean>): Promise<void> {
    try {
      await run();
      if (h.store === store) outage.ok();
    } catch (err) {
      if (!(err instanceof StateUnavailableError)) throw err;
      outage.fault(operation, h.mode, err);
    }
  }

  /** The same without a promise, on a store that answers synchronously. */
  function finishNow(h: Held, operation: 'settle' | 'release', sync: SyncStateCalls, actual: readonly number[] | undefined): void {
    try {
      if (actual === undefined) sync.release(h.reservation);
      else sync.settle(h.reservation, actual);
      if (h.store === store) outage.ok();
    } catch (err) {
      if (!(err instanceof StateUnavailableError)) throw err;
      outage.fault(operation, h.mode, err);
    }
  }

  return {
    id: RATE_LIMIT_STEP_ID,

    admit(request: T): Verdict | Promise<Verdict> {
      const v = view(request);
      if (!v) return CONTINUE;
      const rules = v.policy.rulesFor(v.caller);
      if (rules.length === 0) return CONTINUE;
      let tokens = 0;
      if (rules.some((r) => r.unit === 'tokens')) tokens = v.tokenEstimate();
      const charges = rules.map((r) => ({ counter: r.counter, amount: r.unit === 'requests' ? 1 : tokens, limit: r.limit, windowMs: r.windowMs }));
      const sync = store.sync;
      return sync ? reserveNow(request, v, rules, charges, sync) : reserve(request, v, rules, charges);
    },

    release(request: T): void | Promise<void> {
      const h = held.get(request);
      if (!h) return;
      held.delete(request);
      const sync = h.store.sync;
      if (sync) return finishNow(h, 'release', sync, undefined);
      return finish(h, 'release', () => h.store.release(h.reservation));
    },

    settle(request: T, settlement: Settlement): void | Promise<void> {
      const h = held.get(request);
      if (!h) return;
      held.delete(request);
      const tokens = settledTokens(settlement);
      const actual = h.units.map((u) => (u === 'requests' ? 1 : tokens));
      const sync = h.store.sync;
      if (sync) return finishNow(h, 'settle', sync, actual);
      return finish(h, 'settle', () => h.store.settle(h.reservation, actual));
    },

    async close(): Promise<void> {
      if (fallback && fallback !== opts.fallback) await fallback.close();
    },
  };
}

/**
 * Tokens a settled request counts: prompt + completion as reported (or estimated for a stream
 * cut before the provider counted: those tokens were spent all the same); 0 for a cache hit and
 * when no provider answered.
 */
export function settledTokens(s: Settlement): number {
  if (s.cacheHit || !s.usage) return 0;
  return s.usage.promptTokens + s.usage.completionTokens;
}
