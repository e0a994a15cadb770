import { z } from 'zod';
import { strictObject } from '../config/strict-object.ts';
import { firstOverlap, parseHhMm } from './time-of-day.ts';

/**
 * gateway.yaml `pricing` blocks: on a provider (which catalogue prices it, or all free), on a
 * model and on a target (overrides). Prices are USD per million tokens, like the providers'
 * price pages and genai-prices' `*_mtok` keys. Exported for src/config/schema.ts.
 */


const usdPerMillionTokens = z.number().min(0).max(1_000_000);
const UTC_TIME_RE = /^([01]\d|2[0-3]):[0-5]\d$/;
const utcTime = z.string().regex(UTC_TIME_RE, 'a UTC time "HH:MM" (00:00–23:59)');

const PRICE_FIELDS = ['input', 'cachedInput', 'cacheWrite', 'output'] as const;

const priceFields = {
  /** USD per 1M prompt tokens not read from or written to a cache. */
  input: usdPerMillionTokens.optional(),
  /** USD per 1M cache-read prompt tokens (OpenAI `cached_tokens`, Anthropic cache reads, Gemini cached content); default: the input price. */
  cachedInput: usdPerMillionTokens.optional(),
  /** USD per 1M cache-write prompt tokens (Anthropic `cache_creation_input_tokens`); default: the input price. */
  cacheWrite: usdPerMillionTokens.optional(),
  /** USD per 1M completion tokens (reasoning included). */
  output: usdPerMillionTokens.optional(),
};

/**
 * A UTC time-of-day window: `from` inclusive, `to` exclusive, wrapping midnight when `to` is
 * before `from` (22:00–06:00). Either `multiplier` (the cost inside the window is the cost
 * outside × multiplier, e.g. 0.5 for half price, over catalogue prices too) or prices that
 * replace the block's own inside the window (the others keep theirs).
 */
export const priceWindowSchema = strictObject({ from: utcTime, to: utcTime, multiplier: z.number().min(0).max(100).optional(), ...priceFields }).superRefine((w, ctx) => {
  if (w.from === w.to) ctx.addIssue({ code: 'custom', path: ['to'], message: '"to" must differ from "from" (a whole day is the block\'s own price)' });
  const prices = PRICE_FIELDS.filter((f) => w[f] !== undefined);
  if ((w.multiplier === undefined) === (prices.length === 0)) {
    ctx.addIssue({ code: 'custom', message: 'a window sets either multiplier or prices (input, cachedInput, cacheWrite, output), not both and not neither' });
  }
});
export type PriceWindowConfig = z.infer<typeof priceWindowSchema>;

/**
 * A model's or target's price override. One of:
 * - `free: true`: the target costs nothing (a self-hosted model); must be said, never assumed;
 * - `input` and `output` (and optionally `cachedInput`, `cacheWrite`, `windows`): replaces the catalogue;
 * - `windows` with multipliers only: the catalogue price, discounted (or marked up) at those hours.
 * A target's block wins over its model's, wholesale; fields are not merged between the two.
 */
export const pricingSchema = strictObject({
  free: z.literal(true).optional(),
  ...priceFields,
  windows: z.array(priceWindowSchema).min(1).max(24).optional(),
}).superRefine((p, ctx) => {
  const prices = PRICE_FIELDS.filter((f) => p[f] !== undefined);
  if (p.free) {
    if (prices.length > 0 || p.windows) ctx.addIssue({ code: 'custom', path: ['free'], message: 'free: true takes no prices or windows' });
    return;
  }
  const hasBase = p.input !== undefined && p.output !== undefined;
  if (prices.length > 0 && !hasBase) {
    ctx.addIssue({ code: 'custom', path: [p.input === undefined ? 'input' : 'output'], message: 'an override price needs both input and output (USD per 1M tokens)' });
  }
  if (prices.length === 0 && !p.windows) {
    ctx.addIssue({ code: 'custom', message: 'expected free: true, input and output prices (USD per 1M tokens), or windows' });
  }
  p.windows?.forEach((w, i) => {
    if (!hasBase && PRICE_FIELDS.some((f) => w[f] !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['windows', i], message: 'a window with prices needs input and output prices in the same pricing block; over catalogue prices use multiplier' });
    }
  });
  if (p.windows) {
    // Zod runs this refinement even when a time above failed its own check: skip those windows.
    const readable = p.windows.flatMap((w, i) => (w.from !== w.to && UTC_TIME_RE.test(w.from) && UTC_TIME_RE.test(w.to) ? [i] : []));
    const overlap = firstOverlap(readable.map((i) => ({ startSec: parseHhMm(p.windows![i]!.from), endSec: parseHhMm(p.windows![i]!.to) })));
    if (overlap) ctx.addIssue({ code: 'custom', path: ['windows', readable[overlap[1]]!], message: `overlaps windows[${readable[overlap[0]]}]; windows must not share a minute` });
  }
});
export type PricingConfig = z.infer<typeof pricingSchema>;

/**
 * A provider's `pricing`: `providerId` names the genai-prices catalogue provider its models are
 * priced from (for OpenAI-compatible providers: `mistral`, `groq`, `together`, `deepseek`, …);
 * `free: true` makes every model it serves free unless a model or target sets prices.
 */
export const providerPricingSchema = strictObject({
  providerId: z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, 'a genai-prices provider id, e.g. mistral').optional(),
  free: z.literal(true).optional(),
}).refine((p) => !(p.free && p.providerId), { message: 'free: true and providerId exclude each other' });
export type ProviderPricingConfig = z.infer<typeof providerPricingSchema>;
