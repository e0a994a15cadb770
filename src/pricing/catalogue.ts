import { calcPrice, findProvider, type ConditionalPrice, type ModelPrice } from '@pydantic/genai-prices';
import { catalogueEntrySource } from './catalogue-data.ts';
import type { PricePeriod, Rate, TokenRates } from './types.ts';

/**
 * Prices from the genai-prices catalogue (@pydantic/genai-prices: its bundled data, or what
 * src/pricing/refresh.ts last installed through the library's `updatePrices`), looked up once per
 * target at config load (and again when a refresh rebuilds the config) and compiled into
 * PricePeriods, so that pricing a request is a period choice and four multiplications.
 */

/** The catalogue provider a dialect's provider is priced from when gateway.yaml names none. */
export const DIALECT_CATALOGUE_ID: Readonly<Record<'openai' | 'anthropic' | 'gemini', string>> = Object.freeze({
  openai: 'openai',
  anthropic: 'anthropic',
  gemini: 'google',
});

/** Whether `id` is exactly a catalogue provider's id (not merely matched by its name patterns). */
export function isCatalogueProvider(id: string): boolean {
  return findProvider({ providerId: id })?.id === id;
}

/**
 * Which catalogue provider prices a gateway provider: its `pricing.providerId`; else its own
 * name when that is a catalogue id (a provider called `mistral`, `groq`, `deepseek`); else its
 * dialect's (openai → openai, anthropic → anthropic, gemini → google).
 */
export function catalogueProviderId(name: string, dialect: keyof typeof DIALECT_CATALOGUE_ID, explicit: string | undefined): string {
  if (explicit !== undefined) return explicit;
  return isCatalogueProvider(name) ? name : DIALECT_CATALOGUE_ID[dialect];
}

export interface CatalogueEntry {
  /** `provider/model` as the catalogue names them (the model may be matched from a dated name). */
  readonly id: string;
  /** Where the data in force took it from (Price.source): `catalogue <id>` (bundled) or the refreshed source's label and the id. */
  readonly source: string;
  readonly periods: readonly PricePeriod[];
  /** The model's context window, tokens (genai-prices `context_window`), when the catalogue knows it. */
  readonly contextWindow: number | undefined;
}

/**
 * The catalogue's price of `model` at `providerId` (genai-prices' own matching: exact names,
 * patterns, dated suffixes, fallback providers), or undefined when it has none that prices
 * text tokens.
 */
export function lookupCatalogue(providerId: string, model: string): CatalogueEntry | undefined {
  let found: ReturnType<typeof calcPrice>;
  try {
    found = calcPrice({ input_tokens: 0, output_tokens: 0 }, model, { providerId });
  } catch {
    return undefined; // an entry the library itself cannot price
  }
  if (!found) return undefined;
  const raw: ConditionalPrice[] = Array.isArray(found.model.prices) ? found.model.prices : [{ prices: found.model.prices }];
  const periods: PricePeriod[] = [];
  for (const c of raw) {
    const rates = ratesOf(c.prices);
    if (!rates) return undefined;
    periods.push({ when: whenOf(c.constraint), rates });
  }
  if (periods.length === 0) return undefined;
  const cw = found.model.context_window;
  const id = `${found.provider.id}/${found.model.id}`;
  return { id, source: catalogueEntrySource(id), periods, contextWindow: typeof cw === 'number' && cw > 0 ? cw : undefined };
}

function whenOf(c: ConditionalPrice['constraint']): PricePeriod['when'] {
  if (c === undefined) return { kind: 'always' };
  if (c.type === 'start_date') return { kind: 'since', ms: new Date(c.start_date).getTime() };
  return { kind: 'daily', startSec: constraintTime(c.start_time), endSec: constraintTime(c.end_time) };
}

/** A catalogue time of day ("00:30:00Z", "08:00:00+08:00") → UTC seconds after midnight. */
function constraintTime(text: string): number {
  const m = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|([+-])(\d{2}):(\d{2}))$/.exec(text);
  if (!m) throw new Error(`genai-prices: unreadable time of day ${JSON.stringify(text)}`);
  const local = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) + Number(`0.${m[4] ?? ''}`);
  const offset = m[5] === 'Z' ? 0 : (m[6] === '+' ? 1 : -1) * (Number(m[7]) * 3600 + Number(m[8]) * 60);
  return (local - offset + 86_400) % 86_400;
}

/** The text-token rates of a catalogue price (keys per genai-prices' prices/units.yml), or undefined without input or output prices. */
function ratesOf(p: ModelPrice): TokenRates | undefined {
  const input = rateOf(p['input_mtok']);
  const output = rateOf(p['output_mtok']);
  if (input === undefined && output === undefined) return undefined;
  const perRequest = p['requests_kcount'];
  return {
    input: input ?? 0,
    cacheRead: rateOf(p['cache_read_mtok']),
    cacheWrite: rateOf(p['cache_write_mtok']),
    output: output ?? 0,
    perRequestUsd: typeof perRequest === 'number' ? perRequest / 1000 : 0,
  };
}

function rateOf(v: ModelPrice[string]): Rate | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number') return v;
  return { base: v.base, tiers: [...v.tiers].sort((a, b) => a.start - b.start).map((t) => ({ start: t.start, price: t.price })) };
}
