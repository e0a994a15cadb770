import type { RuntimeConfig } from '../config/runtime.ts';
import { UNRESTRICTED_SCOPE } from '../policy/model-scope.ts';
import type { PriceRefreshStatus } from '../pricing/refresh.ts';

/**
 * `GET /admin/prices`: the price table in force and its refresh state, for ops and the
 * dashboard. `data` is what GET /v1/models shows a key with every model (prices now, USD per
 * million tokens; src/policy/model-catalog.ts); times are ISO 8601 UTC (null: never), the age in s.
 */
export interface PriceTableView {
  readonly object: 'gateway.price_table';
  /** `bundled` (the package's genai-prices catalogue) or the refresh source's file or URL, every query value `[redacted]` (PriceSource.display). */
  readonly source: string;
  readonly loadedAt: string;
  readonly ageSeconds: number;
  readonly lastSuccessAt: string | null;
  readonly lastAttemptAt: string | null;
  readonly lastError: string | null;
  readonly failures: number;
  readonly data: readonly unknown[];
}

export interface PriceTableOptions {
  readonly config: () => RuntimeConfig;
  readonly status: () => PriceRefreshStatus;
  readonly now?: () => number;
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

export function priceTable(opts: PriceTableOptions): PriceTableView {
  const s = opts.status();
  const now = opts.now?.() ?? Date.now();
  const list = JSON.parse(opts.config().modelCatalog.listBody(UNRESTRICTED_SCOPE, now)) as { data: unknown[] };
  return {
    object: 'gateway.price_table',
    source: s.source,
    loadedAt: iso(s.loadedAtMs)!,
    ageSeconds: Math.max(0, Math.round((now - s.loadedAtMs) / 1000)),
    lastSuccessAt: iso(s.lastSuccessMs),
    lastAttemptAt: iso(s.lastAttemptMs),
    lastError: s.lastError ?? null,
    failures: s.failures,
    data: list.data,
  };
}
