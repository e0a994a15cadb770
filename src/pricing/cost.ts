import { inDailyWindow, secondOfDayUtc } from './time-of-day.ts';
import type { Cost, Price, Rate, TokenRates, TokenUsage } from './types.ts';

/**
 * What a request costs, from a target's compiled Price and the usage its provider reported.
 *
 * The rule for cached tokens (every dialect reports usage in OpenAI's convention, see
 * src/openai/usage.ts and docs in /work/shared/wire/README.md §5.6): `promptTokens` includes
 * cache reads (`cachedTokens`) and cache writes (`cacheWriteTokens`), so
 * uncached input = prompt − cache reads − cache writes. Per provider:
 * - OpenAI: `prompt_tokens` includes `prompt_tokens_details.cached_tokens` (and the newer `cache_write_tokens`);
 * - Anthropic: `input_tokens` excludes `cache_read_input_tokens` and `cache_creation_input_tokens`;
 *   the dialect adds them into promptTokens (src/dialects/anthropic/usage.ts) and reports both parts;
 * - Gemini: `promptTokenCount` includes `cachedContentTokenCount` (no cache-write count).
 * A kind without its own rate (no cache-read price, say) is priced as input, as genai-prices does.
 * Tiered rates take their tier from the prompt tokens (genai-prices' rule). Counts that do not
 * add up (cache parts above the prompt) never throw: uncached input is then 0.
 */

const MILLION = 1e6;

/** The rates that apply at `atMs`, in genai-prices' order (see Price.periods). */
export function ratesAt(price: Price, atMs: number): TokenRates {
  const periods = price.periods;
  for (let i = periods.length - 1; i >= 0; i--) {
    const { when, rates } = periods[i]!;
    if (when.kind === 'always') return rates;
    if (when.kind === 'since' ? atMs >= when.ms : inDailyWindow(secondOfDayUtc(atMs), when.startSec, when.endSec)) return rates;
  }
  return periods[0]!.rates;
}

/** The multiplier of the window `atMs` falls in (windows never overlap), else 1. */
function multiplierAt(price: Price, atMs: number): number {
  if (price.multipliers.length === 0) return 1;
  const sec = secondOfDayUtc(atMs);
  for (const m of price.multipliers) if (inDailyWindow(sec, m.startSec, m.endSec)) return m.multiplier;
  return 1;
}

function perMillion(rate: Rate, tierBasis: number): number {
  if (typeof rate === 'number') return rate;
  let r = rate.base;
  for (const t of rate.tiers) if (tierBasis > t.start) r = t.price;
  return r;
}

/**
 * USD → the integer nano-USD (1e-9 USD) budgets store: rounded half up, per request, after the
 * floating-point sum is cut to 15 significant digits (so 0.49999999999999994 nano-USD, the float
 * for an exact half, rounds up like the half it is).
 */
export function toNanoUsd(usd: number): number {
  if (!(usd > 0)) return 0;
  return Math.floor(Number((usd * 1e9).toPrecision(15)) + 0.5);
}

/** nano-USD as a plain decimal USD string (no exponent), e.g. 1234 → "0.000001234"; for headers. */
export function formatUsd(nanoUsd: number): string {
  const whole = Math.floor(nanoUsd / 1e9);
  const frac = String(nanoUsd - whole * 1e9).padStart(9, '0').replace(/0+$/, '');
  return frac === '' ? String(whole) : `${whole}.${frac}`;
}

function costFromUsd(usd: number): Cost {
  const nanoUsd = toNanoUsd(usd);
  return { usd: nanoUsd / 1e9, nanoUsd };
}

const FREE: Cost = Object.freeze({ usd: 0, nanoUsd: 0 });

/**
 * The cost of `usage` (tokens) for a request that started at `atMs` (ms since the epoch, UTC):
 * the period and time-of-day window are those of the start, so a request is never priced at two
 * rates. Returns USD and nano-USD (`usd === nanoUsd / 1e9`); a free price costs 0.
 */
export function costOf(price: Price, usage: TokenUsage, atMs: number): Cost {
  if (price.free) return FREE;
  const r = ratesAt(price, atMs);
  const prompt = usage.promptTokens;
  const read = r.cacheRead === undefined ? 0 : (usage.cachedTokens ?? 0);
  const write = r.cacheWrite === undefined ? 0 : (usage.cacheWriteTokens ?? 0);
  const uncached = Math.max(0, prompt - read - write);
  let usd = (perMillion(r.input, prompt) * uncached + perMillion(r.output, prompt) * usage.completionTokens) / MILLION;
  if (read > 0) usd += (perMillion(r.cacheRead!, prompt) * read) / MILLION;
  if (write > 0) usd += (perMillion(r.cacheWrite!, prompt) * write) / MILLION;
  usd += r.perRequestUsd;
  return costFromUsd(usd * multiplierAt(price, atMs));
}

/**
 * The most a request can cost, for a reservation before it is sent: every prompt token at the
 * dearer of the input and cache-write rates (a cache write costs more than input at Anthropic),
 * and `maxOutputTokens` (the request's output limit, or the model's default) all produced.
 * Same units and rounding as costOf.
 */
export function estimateCost(price: Price, promptTokensEstimate: number, maxOutputTokens: number, atMs: number): Cost {
  if (price.free) return FREE;
  const r = ratesAt(price, atMs);
  const prompt = Math.max(0, promptTokensEstimate);
  const inputRate = Math.max(perMillion(r.input, prompt), r.cacheWrite === undefined ? 0 : perMillion(r.cacheWrite, prompt));
  const usd = (inputRate * prompt + perMillion(r.output, prompt) * Math.max(0, maxOutputTokens)) / MILLION + r.perRequestUsd;
  return costFromUsd(usd * multiplierAt(price, atMs));
}
