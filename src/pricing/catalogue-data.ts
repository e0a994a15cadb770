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

/** Makes `data` the catalogue (throws the library's Error when it rejects the data; the old data then stays). */
export async function installCatalogueData(data: Provider[]): Promise<void> {
  setProviderData!(data);
  await waitForUpdate();
}
