import { ratesAt } from './cost.ts';
import { inDailyWindow, secondOfDayUtc } from './time-of-day.ts';
import type { Price, Rate, TokenRates } from './types.ts';

/**
 * A target's prices as GET /v1/models shows them (`pricing`, snake_case like the rest of the
 * body): USD per million tokens in force at `atMs`, after any time-of-day window (a multiplier
 * window is applied to the numbers), and every daily window with what it changes and whether it
 * is in force. A tiered rate (long-context prices) shows its base and its tiers.
 */

export interface WindowView {
  /** UTC "HH:MM", `from` inclusive, `to` exclusive, wrapping midnight when `to` < `from`. */
  readonly from: string;
  readonly to: string;
  readonly in_force: boolean;
  /** The cost inside is the cost outside × this (set for multiplier windows). */
  readonly multiplier?: number;
  /** Prices inside the window, USD per million tokens (set for price windows). */
  readonly input?: number;
  readonly cached_input?: number;
  readonly output?: number;
}

export interface TargetPricesView {
  readonly free: boolean;
  readonly input: number;
  readonly cached_input: number;
  readonly cache_write?: number;
  readonly output: number;
  /** USD per request on top of tokens, when the catalogue has one. */
  readonly per_request?: number;
  /** Prompt-size tiers (`above_prompt_tokens` → price) per kind, when a rate is tiered. */
  readonly tiers?: Readonly<Record<string, readonly { above_prompt_tokens: number; price: number }[]>>;
  readonly windows: readonly WindowView[];
}

/** Float noise off (0.15 × 0.5 = 0.075, not 0.07500000000000001). */
const tidy = (n: number): number => Number(n.toPrecision(12));
const base = (r: Rate): number => (typeof r === 'number' ? r : r.base);

export function hhmm(sec: number): string {
  const m = Math.floor(sec / 60);
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}

/** The multiplier in force at `atMs` (1 outside every window). */
export function multiplierAt(price: Price, atMs: number): number {
  const sec = secondOfDayUtc(atMs);
  for (const m of price.multipliers) if (inDailyWindow(sec, m.startSec, m.endSec)) return m.multiplier;
  return 1;
}

/** Effective rates, USD per million tokens: `cached_input` is the input price when the target has no cache-read price. */
export function effectiveRates(price: Price, atMs: number): { rates: TokenRates; multiplier: number; input: number; cachedInput: number; cacheWrite: number | undefined; output: number } {
  const rates = ratesAt(price, atMs);
  const k = price.free ? 0 : multiplierAt(price, atMs);
  return {
    rates,
    multiplier: k,
    input: tidy(base(rates.input) * k),
    cachedInput: tidy(base(rates.cacheRead ?? rates.input) * k),
    cacheWrite: rates.cacheWrite === undefined ? undefined : tidy(base(rates.cacheWrite) * k),
    output: tidy(base(rates.output) * k),
  };
}

export function targetPricesView(price: Price, atMs: number): TargetPricesView {
  const now = effectiveRates(price, atMs);
  const r = now.rates;
  const tiers: Record<string, { above_prompt_tokens: number; price: number }[]> = {};
  for (const [kind, rate] of [['input', r.input], ['cached_input', r.cacheRead], ['cache_write', r.cacheWrite], ['output', r.output]] as const) {
    if (rate !== undefined && typeof rate !== 'number') tiers[kind] = rate.tiers.map((t) => ({ above_prompt_tokens: t.start, price: tidy(t.price * now.multiplier) }));
  }
  const sec = secondOfDayUtc(atMs);
  const windows: WindowView[] = [];
  for (const p of price.periods) {
    if (p.when.kind !== 'daily') continue;
    windows.push({
      from: hhmm(p.when.startSec),
      to: hhmm(p.when.endSec),
      in_force: r === p.rates,
      input: tidy(base(p.rates.input)),
      cached_input: tidy(base(p.rates.cacheRead ?? p.rates.input)),
      output: tidy(base(p.rates.output)),
    });
  }
  for (const m of price.multipliers) windows.push({ from: hhmm(m.startSec), to: hhmm(m.endSec), in_force: inDailyWindow(sec, m.startSec, m.endSec), multiplier: m.multiplier });
  windows.sort((a, b) => a.from.localeCompare(b.from));
  return {
    free: price.free,
    input: now.input,
    cached_input: now.cachedInput,
    ...(now.cacheWrite !== undefined ? { cache_write: now.cacheWrite } : {}),
    output: now.output,
    ...(r.perRequestUsd > 0 ? { per_request: tidy(r.perRequestUsd * now.multiplier) } : {}),
    ...(Object.keys(tiers).length > 0 ? { tiers } : {}),
    windows,
  };
}

/**
 * The instants at which any of `prices` can change (daily window edges, start dates), as a
 * function from epoch ms to a key that is equal for two instants exactly when no edge lies
 * between them within the day's cycle: what a pre-rendered body is cached under. O(log n).
 */
export function priceEpochs(prices: readonly Price[]): (atMs: number) => number {
  const daily = new Set<number>();
  const since = new Set<number>();
  for (const p of prices) {
    for (const { when } of p.periods) {
      if (when.kind === 'daily') daily.add(when.startSec).add(when.endSec);
      else if (when.kind === 'since') since.add(when.ms);
    }
    for (const m of p.multipliers) daily.add(m.startSec).add(m.endSec);
  }
  const edges = [...daily].sort((a, b) => a - b);
  const starts = [...since].sort((a, b) => a - b);
  const rank = (xs: readonly number[], x: number): number => {
    let lo = 0;
    let hi = xs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (xs[mid]! <= x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  // Segment of the day (0..edges.length) and start dates passed; segments 0 and last are the same prices, rendered twice at most.
  return (atMs) => rank(starts, atMs) * (edges.length + 1) + rank(edges, secondOfDayUtc(atMs));
}
