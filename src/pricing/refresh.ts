import { readFile } from 'node:fs/promises';
import { bundledCatalogueData, currentCatalogueData, currentCatalogueOrigin, installCatalogueData, type CatalogueOrigin } from './catalogue-data.ts';
import { parsePriceTable } from './price-file.ts';
import type { PriceSource } from './source-schema.ts';

/**
 * Keeps the price table current: every `intervalMs` it reads the configured source (URL or
 * file, price-file.ts formats), installs it as genai-prices' data (catalogue-data.ts) and has the
 * config rebuilt on it (`rebuild`: every target's Price and GET /v1/models are compiled again;
 * gateway.yaml overrides still win, being applied after the catalogue). A refresh that fails
 * (unreachable, timeout, non-2xx, unreadable data, or data that leaves a configured target
 * without a price) changes nothing: the last good table keeps serving, the failure is counted,
 * and logged once per run of failures (the next success is logged too). A URL is only ever shown
 * redacted (PriceSource.display: no query value in a log line, a status or a Price.source).
 */

export interface PriceRefreshStatus {
  /** Where prices come from: `bundled` (the package's catalogue) or the source's file or URL (query values redacted). */
  readonly source: string;
  /** Epoch ms when the table in force was installed (the bundled one: when the process started). */
  readonly loadedAtMs: number;
  /** Epoch ms of the last successful refresh; undefined before the first. */
  readonly lastSuccessMs: number | undefined;
  /** Epoch ms of the last attempt, and its error when it failed. */
  readonly lastAttemptMs: number | undefined;
  readonly lastError: string | undefined;
  /** Failed refreshes since the start. */
  readonly failures: number;
}

export interface PriceRefresherOptions {
  /** Rebuilds the runtime config on the newly installed catalogue; throws (ConfigError) to refuse it. */
  readonly rebuild: () => void;
  readonly log: {
    warn(fields: Record<string, unknown>, msg: string): void;
    info(fields: Record<string, unknown>, msg: string): void;
  };
  /** Called after each refresh, with its result and the epoch ms it ended (metrics: `gateway_price_refreshes_total`, `gateway_price_table_age_seconds`). */
  readonly onResult?: (ok: boolean, atMs: number) => void;
  /**
   * Called when a source is configured (with the epoch ms the table in force was installed: the
   * last good refresh, else the start) and when it is removed (undefined), before any refresh:
   * so the table's age exists from the start even when the first refresh fails (the stale alert).
   */
  readonly onTable?: (loadedAtMs: number | undefined) => void;
  readonly now?: () => number;
  /** fetch for URL sources (tests pass none: the global one). */
  readonly fetch?: typeof fetch;
}

export class PriceRefresher {
  private source: PriceSource | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<boolean> | undefined;
  private failing = false;
  private loadedAtMs: number;
  private lastSuccessMs: number | undefined;
  private lastAttemptMs: number | undefined;
  private lastError: string | undefined;
  private failures = 0;
  private stopped = false;

  constructor(private readonly opts: PriceRefresherOptions) {
    this.loadedAtMs = this.now();
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /**
   * Sets the source (from gateway.yaml `pricing.source`; undefined: no refresh) and, when it
   * changed, refreshes now and every `intervalMs` after. Returns the first refresh (resolves to
   * whether it succeeded), or undefined when nothing starts.
   */
  configure(source: PriceSource | undefined): Promise<boolean> | undefined {
    const same = source?.location === this.source?.location && source?.kind === this.source?.kind && source?.intervalMs === this.source?.intervalMs && source?.timeoutMs === this.source?.timeoutMs;
    if (same || this.stopped) return undefined;
    clearInterval(this.timer);
    this.timer = undefined;
    this.source = source;
    this.opts.onTable?.(source ? this.loadedAtMs : undefined);
    if (!source) return undefined;
    this.timer = setInterval(() => void this.refresh(), source.intervalMs);
    this.timer.unref();
    return this.refresh();
  }

  /** One refresh now (joins one in progress); resolves to whether it installed a new table. */
  refresh(): Promise<boolean> {
    this.running ??= this.refreshOnce().finally(() => (this.running = undefined));
    return this.running;
  }

  status(): PriceRefreshStatus {
    return {
      source: this.source ? this.source.display : 'bundled',
      loadedAtMs: this.loadedAtMs,
      lastSuccessMs: this.lastSuccessMs,
      lastAttemptMs: this.lastAttemptMs,
      lastError: this.lastError,
      failures: this.failures,
    };
  }

  /** Seconds since the table in force was installed (the bundled one: since the start). */
  ageSeconds(): number {
    return Math.max(0, (this.now() - this.loadedAtMs) / 1000);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  private async refreshOnce(): Promise<boolean> {
    const source = this.source;
    if (!source) return false;
    this.lastAttemptMs = this.now();
    let previous: { data: Awaited<ReturnType<typeof currentCatalogueData>>; origin: CatalogueOrigin } | undefined;
    try {
      const text = await this.read(source);
      const table = parsePriceTable(text, await bundledCatalogueData());
      previous = { data: await currentCatalogueData(), origin: currentCatalogueOrigin() };
      await installCatalogueData(table.data, { label: `${source.kind === 'file' ? 'price file' : 'price URL'} ${source.display}`, entries: table.entries });
      this.opts.rebuild();
    } catch (err) {
      // Back to the table that served: a table the config refuses must not price anything.
      if (previous) await installCatalogueData(previous.data, previous.origin).catch(() => undefined);
      this.failures += 1;
      this.lastError = errorText(err).replaceAll(source.location, source.display);
      this.opts.onResult?.(false, this.now());
      if (!this.failing) this.opts.log.warn({ price_source: source.display, error: this.lastError }, 'price refresh failed; the last good prices keep serving');
      this.failing = true;
      return false;
    }
    const wasFailing = this.failing;
    this.failing = false;
    this.lastError = undefined;
    this.lastSuccessMs = this.loadedAtMs = this.now();
    this.opts.onResult?.(true, this.lastSuccessMs);
    if (wasFailing) this.opts.log.info({ price_source: source.display }, 'price refresh succeeded again');
    return true;
  }

  private async read(source: PriceSource): Promise<string> {
    if (source.kind === 'file') return readFile(source.location, 'utf8');
    const res = await (this.opts.fetch ?? fetch)(source.location, { signal: AbortSignal.timeout(source.timeoutMs), redirect: 'follow' });
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`HTTP ${res.status}`);
    }
    return res.text();
  }
}

/** An error as one short line (the source's own text is cut: it is not ours to trust). */
function errorText(err: unknown): string {
  const e = err as { name?: string; message?: string; code?: string; cause?: { code?: string } };
  if (e?.name === 'TimeoutError') return 'timed out';
  const code = e?.cause?.code ?? e?.code;
  return `${String(e?.message ?? err).split('\n')[0]!.slice(0, 300)}${code && !String(e?.message).includes(code) ? ` (${code})` : ''}`;
}
