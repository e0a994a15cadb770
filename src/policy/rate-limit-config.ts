import { ConfigError } from '../config/errors.ts';
import type { LimitsConfig, OnStateError, RateLimitsConfig } from './rate-limit-schema.ts';

/** What a limit counts: requests (1 each) or tokens (input + output). */
export type LimitUnit = 'requests' | 'tokens';
/** Whose limit it is: the caller's key, its team, or its feature within the team. */
export type LimitScope = 'key' | 'team' | 'feature';

/** One configured limit, compiled: a counter in the state layer and its window. */
export interface LimitRule {
  readonly scope: LimitScope;
  readonly unit: LimitUnit;
  /** State-layer counter id, e.g. `key:ci-bot/rpm`, `team:support/tpm`, `feature:support/support-bot/tpd`. */
  readonly counter: string;
  /** 60_000 (per minute) or 86_400_000 (per day). */
  readonly windowMs: number;
  /** Most requests or tokens in any window of windowMs. */
  readonly limit: number;
  /** OpenAI's name for the window in its 429 text: `requests per min (RPM)`, `tokens per day (TPD)`, ... */
  readonly description: string;
  /** Who it belongs to, in words for the 429 text: `this key`, `team support`, `feature support-bot of team support`. */
  readonly subject: string;
}

/** The rate limits as the request path reads them; part of RuntimeConfig (`rateLimits`). */
export interface RateLimitPolicy {
  readonly onStateError: OnStateError;
  /** True when no limit is configured at all (the step then costs nothing). */
  readonly empty: boolean;
  /** Every limit that applies to a caller: its key's, its team's, its feature's (in that order). */
  rulesFor(caller: { readonly name: string; readonly team: string; readonly feature?: string }): readonly LimitRule[];
}

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

const FIELDS: ReadonlyArray<{ field: keyof LimitsConfig; unit: LimitUnit; windowMs: number; suffix: string; description: string }> = [
  { field: 'requestsPerMinute', unit: 'requests', windowMs: MINUTE_MS, suffix: 'rpm', description: 'requests per min (RPM)' },
  { field: 'requestsPerDay', unit: 'requests', windowMs: DAY_MS, suffix: 'rpd', description: 'requests per day (RPD)' },
  { field: 'tokensPerMinute', unit: 'tokens', windowMs: MINUTE_MS, suffix: 'tpm', description: 'tokens per min (TPM)' },
  { field: 'tokensPerDay', unit: 'tokens', windowMs: DAY_MS, suffix: 'tpd', description: 'tokens per day (TPD)' },
];

function rules(limits: LimitsConfig | undefined, scope: LimitScope, prefix: string, subject: string): readonly LimitRule[] {
  if (!limits) return [];
  const out: LimitRule[] = [];
  for (const f of FIELDS) {
    const limit = limits[f.field];
    if (limit === undefined) continue;
    out.push(Object.freeze({ scope, unit: f.unit, counter: `${prefix}/${f.suffix}`, windowMs: f.windowMs, limit, description: f.description, subject }));
  }
  return Object.freeze(out);
}

const NONE: readonly LimitRule[] = Object.freeze([]);

/**
 * Compiles gateway.yaml `rateLimits:` (already schema-validated). Throws ConfigError naming the
 * path for a key name that is not in `keys:` (a typo would otherwise silently limit nothing).
 * Teams and features are not checked: keys created through the admin API may name others.
 */
export function compileRateLimits(cfg: RateLimitsConfig, keyNames: ReadonlySet<string>, source: string): RateLimitPolicy {
  const byKey = new Map<string, readonly LimitRule[]>();
  for (const [name, limits] of Object.entries(cfg.keys)) {
    if (!keyNames.has(name)) throw new ConfigError(source, `rateLimits.keys.${name}`, `"${name}" is not a key name in keys:`);
    const r = rules(limits, 'key', `key:${name}`, 'this key');
    if (r.length > 0) byKey.set(name, r);
  }
  const byTeam = new Map<string, readonly LimitRule[]>();
  const byFeature = new Map<string, readonly LimitRule[]>();
  for (const [team, t] of Object.entries(cfg.teams)) {
    const r = rules(t.limits, 'team', `team:${team}`, `team ${team}`);
    if (r.length > 0) byTeam.set(team, r);
    for (const [feature, limits] of Object.entries(t.features)) {
      const fr = rules(limits, 'feature', `feature:${team}/${feature}`, `feature ${feature} of team ${team}`);
      if (fr.length > 0) byFeature.set(`${team}\0${feature}`, fr);
    }
  }
  const empty = byKey.size === 0 && byTeam.size === 0 && byFeature.size === 0;
  // Keys are frozen objects shared by every request of a config version: compile each once.
  const memo = new WeakMap<object, readonly LimitRule[]>();
  return Object.freeze({
    onStateError: cfg.onStateError,
    empty,
    rulesFor(caller: { readonly name: string; readonly team: string; readonly feature?: string }): readonly LimitRule[] {
      if (empty) return NONE;
      const known = memo.get(caller);
      if (known) return known;
      const all = [
        ...(byKey.get(caller.name) ?? NONE),
        ...(byTeam.get(caller.team) ?? NONE),
        ...(caller.feature !== undefined ? (byFeature.get(`${caller.team}\0${caller.feature}`) ?? NONE) : NONE),
      ];
      const out = all.length > 0 ? Object.freeze(all) : NONE;
      memo.set(caller, out);
      return out;
    },
  });
}

/** No limits (a config without `rateLimits:`, and unit tests). */
export const NO_RATE_LIMITS: RateLimitPolicy = compileRateLimits({ onStateError: 'fail-closed', keys: {}, teams: {} }, new Set(), '(none)');
