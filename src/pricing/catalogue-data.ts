import { REMOTE_DATA_JSON_URL, updatePrices, waitForUpdate, type Provider, type ProviderDataValue } from '@pydantic/genai-prices';

/**
 * The genai-prices data every catalogue lookup reads (catalogue.ts), swapped through the
 * library's own update mechanism (`updatePrices` hands out `setProviderData`, which validates the
 * data and makes it what `calcPrice` and `findProvider` use). One table per process.
 */

let setProviderData: ((data: ProviderDataValue) => void) | undefined;
updatePrices((opts) => {
  setProviderData = opts.setProviderData;
});

/** genai-prices' published data file (the library's `remoteDataUrl`). */
export const GENAI_PRICES_DATA_URL: string = REMOTE_DATA_JSON_URL;

/** The data in force (the bundled catalogue until an install). */
export async function currentCatalogueData(): Promise<Provider[]> {
  return (await waitForUpdate()) ?? [];
}

let bundled: Promise<Provider[]> | undefined;
/** The catalogue bundled in the package, as it was before any install (the own format's baseline). */
export function bundledCatalogueData(): Promise<Provider[]> {
  bundled ??= currentCatalogueData();
  return bundled;
}
// Taken at import, before anything can install other data.
void bundledCatalogueData();

/**
 * Where the entries of the data in force come from: `label` names a refreshed source (`price
 * file /etc/p.json`, `price URL https://…?token=[redacted]`) and `entries` which of its
 * `provider/model` ids it priced (`all`: every one, genai-prices' format; else the own format's
 * entries, every other one being the bundled catalogue's). Undefined `label`: the bundled catalogue.
 */
export interface CatalogueOrigin {
  readonly label: string | undefined;
  readonly entries: 'all' | ReadonlySet<string>;
}

export const BUNDLED_ORIGIN: CatalogueOrigin = Object.freeze({ label: undefined, entries: 'all' as const });
let origin: CatalogueOrigin = BUNDLED_ORIGIN;

/** The origin of the data in force (installCatalogueData's). */
export function currentCatalogueOrigin(): CatalogueOrigin {
  return origin;
}

/**
 * Where the entry `provider/model` (as catalogue.ts lookupCatalogue names it) of the data in
 * force comes from, for Price.source: `catalogue openai/gpt-4o-mini` (bundled) or
 * `price file /etc/p.json: openai/gpt-4o-mini` (refreshed).
 */
export function catalogueEntrySource(entryId: string): string {
  const fromSource = origin.label !== undefined && (origin.entries === 'all' || origin.entries.has(entryId));
  return fromSource ? `${origin.label}: ${entryId}` : `catalogue ${entryId}`;
}

/** Makes `data` the catalogue, from `from` (throws the library's Error when it rejects the data; the old data and origin then stay). */
export async function installCatalogueData(data: Provider[], from: CatalogueOrigin = BUNDLED_ORIGIN): Promise<void> {
  setProviderData!(data);
  await waitForUpdate();
  origin = from;
}
