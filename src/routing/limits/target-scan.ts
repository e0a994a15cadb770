import type { ReserveResult, WindowCharge, WindowReservation } from '../../state/store.ts';
import type { HealthView, TargetKey } from '../health/view.ts';
import type { ProviderLimitPolicy, ProviderLimitRule } from './provider-limits.ts';

/** What the scan needs of one of the model's targets. */
export interface ScannedTarget {
  readonly key: TargetKey;
  readonly provider: { readonly name: string };
}

/** A granted reservation on one target, held until the request is settled. */
export interface HeldTarget {
  readonly index: number;
  readonly key: TargetKey;
  readonly rules: readonly ProviderLimitRule[];
  readonly reservation: WindowReservation;
}

/**
 * Reserves `charges` under `partition` for the request; undefined when the state backend could
 * not answer (the caller's wrapper has counted it: provider limits then fail open for this target).
 */
export type ReserveCall = (partition: string, charges: readonly WindowCharge[]) => ReserveResult | undefined | Promise<ReserveResult | undefined>;

export interface ScanInput {
  readonly targets: readonly ScannedTarget[];
  /** The attempt order (target indexes), as routing and the budget left it. */
  readonly order: readonly number[];
  readonly nowMs: number;
  readonly health: HealthView;
  readonly limits: ProviderLimitPolicy;
  /** The request's token estimate (prompt estimate + output limit × n), asked for only when a target limits tokens. */
  readonly tokens: () => number;
  readonly reserve: ReserveCall;
}

/** Where the scan stopped. */
export interface Scan {
  /** The first target in the order that is neither cooling nor at its limit (it holds `held` when it has limits); -1: none. */
  chosen: number;
  held: HeldTarget | undefined;
  /** Targets whose reservation was refused, with the figures (`rpm 60/60, resets in 12 s`). */
  readonly limited: Map<number, string>;
  /** Targets cooling down after a provider 429 (bit per index). */
  cooling: number;
  /** Targets looked at (bit per index): a scan continued over a new order skips them. */
  visited: number;
  /** ms until the earliest skipped target frees (cool-down end, window reset); Infinity: none will. */
  freeInMs: number;
}

/**
 * Walks `order` for the first target that can take the request now: a target cooling down after
 * a provider 429 (health's `coolingUntilMs`) is passed over without touching its counters; a
 * target with provider limits gets one all-or-nothing reservation (1 request, the token
 * estimate) and is passed over when it is refused. At most one reservation is granted (the
 * chosen target's); a refused one holds nothing. Synchronous while `reserve` is. `from`: a scan
 * that found no target, continued over a new order (its targets already seen are skipped).
 */
export function scanTargets(input: ScanInput, from?: Scan): Scan | Promise<Scan> {
  const scan: Scan = from ?? { chosen: -1, held: undefined, limited: new Map(), cooling: 0, visited: 0, freeInMs: Infinity };
  return scanFrom(input, scan, 0);
}

function scanFrom(input: ScanInput, scan: Scan, from: number): Scan | Promise<Scan> {
  const { order, targets, nowMs } = input;
  for (let k = from; k < order.length; k++) {
    const i = order[k]!;
    if ((scan.visited & (1 << i)) !== 0) continue;
    scan.visited |= 1 << i;
    const t = targets[i]!;
    const until = input.health.get(t.key, nowMs).coolingUntilMs;
    if (until !== undefined && until > nowMs) {
      scan.cooling |= 1 << i;
      scan.freeInMs = Math.min(scan.freeInMs, until - nowMs);
      continue;
    }
    const rules = input.limits.rulesFor(t.key);
    if (rules.length === 0) {
      scan.chosen = i;
      return scan;
    }
    let tokens = 0;
    for (const r of rules) if (r.unit === 'tokens') tokens = input.tokens();
    const charges = rules.map((r) => ({ counter: r.counter, amount: r.unit === 'requests' ? 1 : tokens, limit: r.limit, windowMs: r.windowMs }));
    const result = input.reserve(input.limits.partitionOf(t.provider.name), charges);
    if (result instanceof Promise) return result.then((r) => (take(scan, i, t, rules, charges, r) ? scan : scanFrom(input, scan, k + 1)));
    if (take(scan, i, t, rules, charges, result)) return scan;
  }
  return scan;
}

/** Records one reservation's result; true when the target is chosen. */
function take(scan: Scan, i: number, t: ScannedTarget, rules: readonly ProviderLimitRule[], charges: readonly WindowCharge[], r: ReserveResult | undefined): boolean {
  scan.chosen = i;
  if (r === undefined) return true; // the backend could not answer: fail open, nothing held
  if (r.granted) {
    scan.held = { index: i, key: t.key, rules, reservation: r.reservation };
    return true;
  }
  scan.chosen = -1;
  const rule = rules[r.refusedIndex]!;
  scan.limited.set(i, limitDetail(rule, r.used, charges[r.refusedIndex]!.amount, r.retryAfterMs));
  if (r.retryAfterMs !== null) scan.freeInMs = Math.min(scan.freeInMs, r.retryAfterMs);
  return false;
}

/** The explanation's figures for a refused limit: `rpm 60/60, resets in 12 s`; tokens also say what the request needs. */
export function limitDetail(rule: ProviderLimitRule, used: number, requested: number, retryAfterMs: number | null): string {
  if (retryAfterMs === null) return `${rule.short} ${rule.limit}: the request's ${requested} tokens alone exceed it`;
  const need = rule.unit === 'tokens' ? ` (+${requested} requested)` : '';
  return `${rule.short} ${used}/${rule.limit}${need}, resets in ${Math.max(1, Math.ceil(retryAfterMs / 1000))} s`;
}
