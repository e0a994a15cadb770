import { z } from 'zod';
import { publicModelName } from '../config/keys-schema.ts';
import { onStateErrorSchema } from './rate-limit-schema.ts';

/**
 * gateway.yaml `budgets:`, spend limits in USD for keys, teams and features over a UTC period
 * (src/policy/budget.ts enforces them; the README's *Budgets* explains them).
 *
 * ```yaml
 * budgets:
 *   onStateError: fail-closed          # or fail-open
 *   degrade:                           # chains for every budget, by public model name
 *     gpt-4o: [gpt-4o-mini, gemini-2.5-flash]
 *   teams:
 *     support:
 *       budget: { limitUsd: 500, softPercent: 80 }           # UTC calendar month
 *       features:
 *         support-bot: { limitUsd: 100, period: week }
 *   keys:
 *     ci-bot: { limitUsd: 5, period: day, degrade: { gpt-4o: [gpt-4o-mini] } }
 * ```
 *
 * Same shape as `rateLimits:` (keys, teams with features), so a key's own budget, its team's
 * and its feature's are read in one place; key names and model names are checked at load.
 */

/** The spans a budget may count over, all in UTC: calendar month, ISO week (Monday 00:00), day. */
export const budgetPeriodSchema = z.enum(['month', 'week', 'day']);
export type BudgetPeriod = z.infer<typeof budgetPeriodSchema>;

/** Public model name → the models to degrade to past the soft threshold, cheapest-acceptable first. */
export const degradeChainsSchema = z.record(publicModelName, z.array(publicModelName).min(1).max(8));
export type DegradeChains = z.infer<typeof degradeChainsSchema>;

/** One subject's budget. */
export const budgetSchema = z.strictObject(
  {
    /**
     * Hard limit, USD per period: settled spend + in-flight reservations never pass it at
     * admission. 0 allows free models only.
     */
    limitUsd: z.number().min(0).max(9_000_000),
    /** The span spend is counted over; a new period starts from 0. */
    period: budgetPeriodSchema.default('month'),
    /** From this share of `limitUsd` (1–100 %) requests are degraded along the chain. 100: never degrade. */
    softPercent: z.number().min(1).max(100).default(80),
    /** This budget's own chains; wins over `budgets.degrade` for the models it names. */
    degrade: degradeChainsSchema.default({}),
  },
  {
    error: (iss) =>
      iss.code === 'unrecognized_keys'
        ? `unknown key(s) ${iss.keys.map((k) => `"${k}"`).join(', ')} (expected: limitUsd, period, softPercent, degrade)`
        : undefined,
  },
);
export type BudgetConfig = z.infer<typeof budgetSchema>;

/** A label as keys-schema.ts allows for team and feature names. */
const label = z.string().min(1).max(128);

const teamBudgetsSchema = z.strictObject({
  /** The whole team's budget (every key of the team spends from it). */
  budget: budgetSchema.optional(),
  /** Per feature of this team (keys with `feature:` set). */
  features: z.record(label, budgetSchema).default({}),
});

export const budgetsSchema = z
  .strictObject({
    /**
     * When the state backend cannot answer: `fail-closed` (default) refuses with 503
     * `state_unavailable`; `fail-open` admits against the last spend this process saw plus what
     * it admitted since, and settles to the store when it answers again.
     */
    onStateError: onStateErrorSchema.default('fail-closed'),
    /** How long a reservation holds, s: longer than the longest request (route timeout, long streams). */
    reservationTtlSeconds: z.number().int().min(10).max(86_400).default(900),
    /** Chains for every budget (a budget's own `degrade` wins per model). */
    degrade: degradeChainsSchema.default({}),
    /** By key name (gateway.yaml `keys[].name`). */
    keys: z.record(z.string().min(1).max(128), budgetSchema).default({}),
    /** By team name (`keys[].team`). */
    teams: z.record(label, teamBudgetsSchema).default({}),
  })
  .prefault({});
export type BudgetsConfig = z.infer<typeof budgetsSchema>;
