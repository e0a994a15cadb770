import { ConfigError } from '../config/errors.ts';
import { toNanoUsd } from '../pricing/cost.ts';
import type { BudgetConfig, BudgetPeriod, BudgetsConfig, DegradeChains } from './budget-schema.ts';
import type { OnStateError } from './rate-limit-schema.ts';

/** Whose budget it is: the caller's key, its feature within its team, or its team. */
export type BudgetScope = 'key' | 'feature' | 'team';

/** One configured budget, compiled. */
export interface BudgetRule {
  readonly scope: BudgetScope;
  /** State-layer subject: `key:<name>`, `feature:<team>/<feature>`, `team:<team>`. */
  readonly subject: string;
  /** In words, for the 429 text: `key ci-bot`, `feature support-bot of team support`, `team support`. */
  readonly describe: string;
  readonly period: BudgetPeriod;
  /** Hard limit, nano-USD per period. */
  readonly limitNanoUsd: number;
  /** Degrade from here on (settled spend + others' reservations), nano-USD: ⌊limit × softPercent / 100⌋. */
  readonly softNanoUsd: number;
  /** This budget's own chains by public model name (empty: the global ones apply). */
  readonly degrade: ReadonlyMap<string, readonly string[]>;
}

/** The budgets as the request path reads them; part of RuntimeConfig (`budgets`). */
export interface BudgetPolicy {
  readonly onStateError: OnStateError;
  /** How long a reservation holds in the store, ms. */
  readonly reservationTtlMs: number;
  /** True when no budget is configured (the step then costs nothing). */
  readonly empty: boolean;
  /** Chains for every budget, by public model name. */
  readonly degrade: ReadonlyMap<string, readonly string[]>;
  /** Every configured budget (keys', features', teams'), e.g. for the budget gauges (src/metrics/runtime-gauges.ts). */
  readonly rules: readonly BudgetRule[];
  /** Every budget a caller spends from, most specific first: its key's, its feature's, its team's. */
  rulesFor(caller: { readonly name: string; readonly team: string; readonly feature?: string }): readonly BudgetRule[];
}

const NONE: readonly BudgetRule[] = Object.freeze([]);

function chains(cfg: DegradeChains, at: string, publicNames: ReadonlySet<string>, source: string): ReadonlyMap<string, readonly string[]> {
  const out = new Map<string, readonly string[]>();
  for (const [from, to] of Object.entries(cfg)) {
    // A typo would silently never degrade (or degrade to nothing): refused at load.
    if (!publicNames.has(from)) throw new ConfigError(source, `${at}.${from}`, `"${from}" names no model or alias`);
    to.forEach((name, i) => {
      if (!publicNames.has(name)) throw new ConfigError(source, `${at}.${from}[${i}]`, `"${name}" names no model or alias`);
      if (name === from) throw new ConfigError(source, `${at}.${from}[${i}]`, `"${from}" cannot degrade to itself`);
    });
    out.set(from, Object.freeze([...to]));
  }
  return out;
}

function rule(cfg: BudgetConfig, scope: BudgetScope, subject: string, describe: string, at: string, publicNames: ReadonlySet<string>, source: string): BudgetRule {
  const limitNanoUsd = toNanoUsd(cfg.limitUsd);
  return Object.freeze({
    scope,
    subject,
    describe,
    period: cfg.period,
    limitNanoUsd,
    softNanoUsd: Math.floor((limitNanoUsd * cfg.softPercent) / 100),
    degrade: chains(cfg.degrade, `${at}.degrade`, publicNames, source),
  });
}

/**
 * Compiles gateway.yaml `budgets:` (already schema-validated). Throws ConfigError naming the path
 * for a key name not in `keys:` and a degrade chain naming no model or alias, or a model itself.
 * Teams and features are not checked: keys created through the admin API may name others.
 */
export function compileBudgets(cfg: BudgetsConfig, keyNames: ReadonlySet<string>, publicNames: ReadonlySet<string>, source: string): BudgetPolicy {
  const byKey = new Map<string, BudgetRule>();
  for (const [name, b] of Object.entries(cfg.keys)) {
    if (!keyNames.has(name)) throw new ConfigError(source, `budgets.keys.${name}`, `"${name}" is not a key name in keys:`);
    byKey.set(name, rule(b, 'key', `key:${name}`, `key ${name}`, `budgets.keys.${name}`, publicNames, source));
  }
  const byTeam = new Map<string, BudgetRule>();
  const byFeature = new Map<string, BudgetRule>();
  for (const [team, t] of Object.entries(cfg.teams)) {
    if (t.budget) byTeam.set(team, rule(t.budget, 'team', `team:${team}`, `team ${team}`, `budgets.teams.${team}.budget`, publicNames, source));
    for (const [feature, b] of Object.entries(t.features)) {
      const at = `budgets.teams.${team}.features.${feature}`;
      byFeature.set(`${team}\0${feature}`, rule(b, 'feature', `feature:${team}/${feature}`, `feature ${feature} of team ${team}`, at, publicNames, source));
    }
  }
  const empty = byKey.size === 0 && byTeam.size === 0 && byFeature.size === 0;
  return Object.freeze({
    onStateError: cfg.onStateError,
    reservationTtlMs: cfg.reservationTtlSeconds * 1000,
    empty,
    degrade: chains(cfg.degrade, 'budgets.degrade', publicNames, source),
    rules: Object.freeze([...byKey.values(), ...byFeature.values(), ...byTeam.values()]),
    rulesFor(caller: { readonly name: string; readonly team: string; readonly feature?: string }): readonly BudgetRule[] {
      if (empty) return NONE;
      const out: BudgetRule[] = [];
      const k = byKey.get(caller.name);
      if (k) out.push(k);
      if (caller.feature !== undefined) {
        const f = byFeature.get(`${caller.team}\0${caller.feature}`);
        if (f) out.push(f);
      }
      const t = byTeam.get(caller.team);
      if (t) out.push(t);
      return out.length === 0 ? NONE : out;
    },
  });
}

/**
 * The chain for `modelName` (the public name asked for, then `canonical` when it is an alias):
 * from the first of `pastSoft` (most specific first) that has its own chain for it, else the
 * global one, else none.
 */
export function degradeChain(policy: BudgetPolicy, pastSoft: readonly BudgetRule[], modelName: string, canonical?: string): readonly string[] {
  const names = canonical === undefined ? [modelName] : [modelName, canonical];
  for (const r of pastSoft) {
    for (const n of names) {
      const c = r.degrade.get(n);
      if (c) return c;
    }
  }
  for (const n of names) {
    const c = policy.degrade.get(n);
    if (c) return c;
  }
  return [];
}
