import { calcPrice, type ModelInfo, type Provider } from '@pydantic/genai-prices';
import { z } from 'zod';

/**
 * Reads a price table text into genai-prices' data (Provider[]), in one of two formats:
 *
 * 1. genai-prices' published data file (a JSON array of providers, the `data.json` its
 *    `REMOTE_DATA_JSON_URL` serves): used whole, as the library's own update would;
 * 2. the gateway's own, for prices you keep yourself:
 *    `{"models":[{"provider":"openai","model":"gpt-4o-mini","input":0.15,"cachedInput":0.075,
 *    "cacheWrite":0.3,"output":0.6,"contextLength":128000}]}`: `provider` a genai-prices
 *    provider id (gateway.yaml `providers.<name>.pricing.providerId`, or the dialect's), `model`
 *    the provider's model name (matched exactly, case-insensitive, as genai-prices matches), prices
 *    in USD per million tokens (`cachedInput`, `cacheWrite`, `contextLength` optional; without
 *    `contextLength` the bundled catalogue's context window of that model stays). Each entry
 *    wins over the bundled catalogue's price for that model; every other model keeps the bundled one.
 *
 * Returns the data and which `provider/model` ids it prices from the text (`all` for the first
 * format), for Price.source (catalogue-data.ts CatalogueOrigin). Throws Error naming the problem
 * (the first invalid entry's path) when the text is neither.
 */

export interface ParsedPriceTable {
  readonly data: Provider[];
  /** The `provider/model` ids the text priced (catalogue.ts lookupCatalogue's ids); `all`: the whole table. */
  readonly entries: 'all' | ReadonlySet<string>;
}

const usdPerMtok = z.number().min(0).max(1_000_000);
const ownEntry = z.strictObject({
  provider: z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, 'a genai-prices provider id'),
  model: z.string().min(1).max(256),
  input: usdPerMtok,
  cachedInput: usdPerMtok.optional(),
  cacheWrite: usdPerMtok.optional(),
  output: usdPerMtok,
  contextLength: z.number().int().min(1).optional(),
});
const ownFile = z.strictObject({ models: z.array(ownEntry).min(1).max(10_000) });
export type OwnPriceEntry = z.infer<typeof ownEntry>;

const providerShape = z.looseObject({ id: z.string().min(1), name: z.string(), api_pattern: z.string(), models: z.array(z.looseObject({ id: z.string(), match: z.record(z.string(), z.unknown()), prices: z.unknown() })) });

export function parsePriceTable(text: string, baseline: readonly Provider[]): ParsedPriceTable {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`not JSON (${(err as Error).message.slice(0, 100)})`);
  }
  if (Array.isArray(json)) {
    if (json.length === 0) throw new Error('an empty provider list');
    const checked = z.array(providerShape).safeParse(json);
    if (!checked.success) throw new Error(`not genai-prices data: ${issueText(checked.error)}`);
    return { data: json as Provider[], entries: 'all' };
  }
  const own = ownFile.safeParse(json);
  if (!own.success) throw new Error(`neither genai-prices data (a JSON array) nor {"models":[…]}: ${issueText(own.error)}`);
  return { data: overlay(baseline, own.data.models), entries: new Set(own.data.models.map((e) => `${e.provider}/${e.model.toLowerCase()}`)) };
}

function issueText(e: z.ZodError): string {
  const i = e.issues[0]!;
  return `${i.path.length > 0 ? i.path.join('.') : '(top)'}: ${i.message}`;
}

/** The baseline with each entry's model first in its provider (a new provider when the baseline has none). */
function overlay(baseline: readonly Provider[], entries: readonly OwnPriceEntry[]): Provider[] {
  const added = new Map<string, ModelInfo[]>();
  for (const e of entries) {
    const model: ModelInfo = {
      id: e.model.toLowerCase(),
      match: { equals: e.model.toLowerCase() },
      prices: {
        input_mtok: e.input,
        output_mtok: e.output,
        ...(e.cachedInput !== undefined ? { cache_read_mtok: e.cachedInput } : {}),
        ...(e.cacheWrite !== undefined ? { cache_write_mtok: e.cacheWrite } : {}),
      },
    };
    const contextWindow = e.contextLength ?? baselineContextWindow(baseline, e.provider, e.model);
    if (contextWindow !== undefined) model.context_window = contextWindow;
    added.set(e.provider, [...(added.get(e.provider) ?? []), model]);
  }
  const out = baseline.map((p) => {
    const mine = added.get(p.id);
    if (!mine) return p;
    added.delete(p.id);
    return { ...p, models: [...mine, ...p.models] };
  });
  for (const [id, models] of added) out.push({ id, name: id, api_pattern: '(?!)', models });
  return out;
}

/** The baseline's context window of `model` at `providerId` (genai-prices' own matching, dated names included), when it has one. */
function baselineContextWindow(baseline: readonly Provider[], providerId: string, model: string): number | undefined {
  const provider = baseline.find((p) => p.id === providerId);
  if (!provider) return undefined;
  try {
    const cw = calcPrice({ input_tokens: 0, output_tokens: 0 }, model, { provider })?.model.context_window;
    return typeof cw === 'number' && cw > 0 ? cw : undefined;
  } catch {
    return undefined; // an entry the library itself cannot price has no window to keep
  }
}
