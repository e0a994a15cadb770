import { ConfigError } from '../config/errors.ts';
import { catalogueProviderId, isCatalogueProvider, lookupCatalogue, type DIALECT_CATALOGUE_ID } from './catalogue.ts';
import type { PricingConfig, ProviderPricingConfig } from './schema.ts';
import { parseHhMm } from './time-of-day.ts';
import type { Price, PricePeriod, TokenRates } from './types.ts';

/**
 * Compiles gateway.yaml's pricing into each target's Price at config load. Which price a
 * target gets, first match wins:
 * 1. the target's `pricing` block, else its model's (wholesale, never merged);
 *    `free: true`, or `input`/`output` prices (then the catalogue is not consulted);
 * 2. the provider's `pricing.free: true`;
 * 3. the genai-prices catalogue, at the provider's catalogue id (catalogue.ts), with the
 *    block's multiplier windows on top when it has only those.
 * A target none of these prices is refused, naming its path: spend must never go uncounted
 * because a price was missing (LiteLLM #41344 priced an unknown paid fallback at 0).
 */

export interface ProviderPricing {
  readonly name: string;
  /** The genai-prices provider id its models are looked up under. */
  readonly catalogueId: string;
  readonly free: boolean;
}

/** A provider's pricing settings, checked: an explicit `providerId` must exist in the catalogue. */
export function resolveProviderPricing(source: string, name: string, dialect: keyof typeof DIALECT_CATALOGUE_ID, pricing: ProviderPricingConfig | undefined): ProviderPricing {
  const explicit = pricing?.providerId;
  if (explicit !== undefined && !isCatalogueProvider(explicit)) {
    throw new ConfigError(source, `providers.${name}.pricing.providerId`, `"${explicit}" is not a genai-prices provider id (e.g. openai, anthropic, google, mistral, groq, together, deepseek)`);
  }
  return Object.freeze({ name, catalogueId: catalogueProviderId(name, dialect, explicit), free: pricing?.free === true });
}

export interface TargetPricingInput {
  readonly source: string;
  readonly modelName: string;
  readonly targetIndex: number;
  /** The provider's own model name. */
  readonly providerModel: string;
  readonly provider: ProviderPricing;
  readonly modelPricing: PricingConfig | undefined;
  readonly targetPricing: PricingConfig | undefined;
}

const FREE_PERIODS: readonly PricePeriod[] = Object.freeze([
  Object.freeze({ when: Object.freeze({ kind: 'always' as const }), rates: Object.freeze({ input: 0, cacheRead: undefined, cacheWrite: undefined, output: 0, perRequestUsd: 0 }) }),
]);

/** The target's compiled Price; throws ConfigError (file, path, what to set) when it has none. */
export function resolveTargetPrice(t: TargetPricingInput): Price {
  const targetPath = `models.${t.modelName}.targets[${t.targetIndex}]`;
  const block = t.targetPricing ?? t.modelPricing;
  // The context window is the model's, whoever prices it: the catalogue's even under an override.
  const contextWindow = (): number | undefined => lookupCatalogue(t.provider.catalogueId, t.providerModel)?.contextWindow;
  const blockPath = t.targetPricing ? `gateway.yaml ${targetPath}.pricing` : `gateway.yaml models.${t.modelName}.pricing`;
  if (block?.free) return free(blockPath, contextWindow());
  const windows = block?.windows ?? [];
  const multipliers = Object.freeze(
    windows.filter((w) => w.multiplier !== undefined).map((w) => Object.freeze({ startSec: parseHhMm(w.from), endSec: parseHhMm(w.to), multiplier: w.multiplier! })),
  );
  if (block?.input !== undefined && block.output !== undefined) {
    const base: TokenRates = Object.freeze({ input: block.input, cacheRead: block.cachedInput, cacheWrite: block.cacheWrite, output: block.output, perRequestUsd: 0 });
    const periods: PricePeriod[] = [{ when: { kind: 'always' }, rates: base }];
    for (const w of windows) {
      if (w.multiplier !== undefined) continue;
      periods.push({
        when: { kind: 'daily', startSec: parseHhMm(w.from), endSec: parseHhMm(w.to) },
        rates: Object.freeze({
          input: w.input ?? base.input,
          cacheRead: w.cachedInput ?? base.cacheRead,
          cacheWrite: w.cacheWrite ?? base.cacheWrite,
          output: w.output ?? base.output,
          perRequestUsd: 0,
        }),
      });
    }
    return Object.freeze({ free: false, source: blockPath, periods: Object.freeze(periods), multipliers, contextWindow: contextWindow() });
  }
  if (t.provider.free) return free(`gateway.yaml providers.${t.provider.name}.pricing`, contextWindow());
  const entry = lookupCatalogue(t.provider.catalogueId, t.providerModel);
  if (!entry) {
    throw new ConfigError(
      t.source,
      targetPath,
      `no price for model "${t.providerModel}" of provider "${t.provider.name}" (the genai-prices catalogue has none under "${t.provider.catalogueId}"): ` +
        'set pricing on the target or the model (input and output, USD per 1M tokens), ' +
        `pricing.providerId on providers.${t.provider.name} if another catalogue provider prices it, or pricing: { free: true } if it costs nothing`,
    );
  }
  return Object.freeze({ free: false, source: entry.source, periods: entry.periods, multipliers, contextWindow: entry.contextWindow });
}

function free(source: string, contextWindow: number | undefined): Price {
  return Object.freeze({ free: true, source: `free (${source})`, periods: FREE_PERIODS, multipliers: Object.freeze([]), contextWindow });
}
