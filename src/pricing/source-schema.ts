import { z } from 'zod';
import { strictObject } from '../config/strict-object.ts';

/**
 * gateway.yaml `pricing.source`: where the price table is refreshed from (src/pricing/refresh.ts).
 * Exactly one of:
 * - `genaiPrices: true`: genai-prices' published data file (the library's `remoteDataUrl`,
 *   https://raw.githubusercontent.com/pydantic/genai-prices/main/prices/new_data/v2/data.json);
 * - `url`: an http(s) URL serving either that format or the gateway's own (price-file.ts);
 * - `file`: a local file in either format (relative to the working directory).
 * `intervalMs` (default 1 h) is the time between refreshes; `timeoutMs` bounds one fetch.
 * Absent: the catalogue bundled in the package, never refreshed.
 */
export const priceSourceSchema = strictObject({
  genaiPrices: z.literal(true).optional(),
  // No user:password (a query's values are redacted wherever the URL is shown: redactedLocation).
  url: z.url({ protocol: /^https?$/, error: 'an http(s) URL' }).refine((u) => { const p = new URL(u); return p.username === '' && p.password === ''; }, 'a URL without user:password (it is logged)').optional(),
  file: z.string().min(1).optional(),
  /** ms between refreshes; at least 1 s (tests), default 1 h. */
  intervalMs: z.number().int().min(1000).max(7 * 86_400_000).default(3_600_000),
  /** ms one fetch may take before it counts as a failed refresh. */
  timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
}).refine((s) => [s.genaiPrices, s.url, s.file].filter((v) => v !== undefined).length === 1, { message: 'set exactly one of genaiPrices: true, url or file' });
export type PriceSourceConfig = z.infer<typeof priceSourceSchema>;

/** gateway.yaml `pricing` (top level): the price table's refresh source. */
export const pricingSettingsSchema = strictObject({
  source: priceSourceSchema.optional(),
}).prefault({});

/** A compiled source: what to read, how often. */
export interface PriceSource {
  readonly kind: 'url' | 'file';
  /** The URL or file path, as configured: read from, never shown (a URL's query may hold a token). */
  readonly location: string;
  /** What logs, GET /admin/prices and Price.source show: the location with every query value redacted (redactedLocation). */
  readonly display: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

export function compilePriceSource(cfg: PriceSourceConfig | undefined, genaiPricesUrl: string): PriceSource | undefined {
  if (cfg === undefined) return undefined;
  const kind = cfg.file !== undefined ? 'file' : 'url';
  const location = cfg.file ?? cfg.url ?? genaiPricesUrl;
  return Object.freeze({ kind, location, display: kind === 'url' ? redactedLocation(location) : location, intervalMs: cfg.intervalMs, timeoutMs: cfg.timeoutMs });
}

/**
 * A URL as it may be shown: every query parameter's value and the fragment replaced by
 * `[redacted]`, the names kept (`?token=[redacted]&v=[redacted]`), since a signed or
 * token-bearing URL (`token`, `key`, `sig`, …) carries its secret there; a secret in the path
 * cannot be told apart and is shown. Text that is not a URL is shown as `[unparsable URL]`.
 */
export function redactedLocation(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return '[unparsable URL]';
  }
  const names = [...u.searchParams.keys()];
  const query = u.search === '' ? '' : `?${names.map((n) => `${encodeURIComponent(n)}=[redacted]`).join('&')}`;
  return `${u.origin}${u.pathname}${query}${u.hash === '' ? '' : '#[redacted]'}`;
}
