import { throttledWarn } from '../../observability/throttled-warn.ts';
import type { RuntimeConfig } from '../../config/runtime.ts';
import type { Exchange } from '../../exchange/exchange.ts';
import type { GatewayMetrics } from '../../metrics/metrics.ts';
import type { Logger } from '../../observability/logger.ts';
import { fromOpenAIUsage, toOpenAIUsage, type Usage } from '../../openai/usage.ts';
import { costOf } from '../../pricing/cost.ts';
import type { PolicyStep } from '../pipeline.ts';
import type { Settlement } from '../settlement.ts';
import { completionFromBody } from './cache-entry.ts';
import type { CacheStatus } from './cache-policy.ts';
import { cacheSaving } from './cache-saving.ts';
import { responseCacheStep } from './cache-step.ts';
import { ResponseCache, type CacheLookup, type CacheRequest, type StoreOutcome } from './response-cache.ts';
import type { ResponseCacheStore } from './store.ts';
import type { StreamAccumulator } from './stream-accumulator.ts';

export interface ExchangeCacheDeps {
  readonly store: ResponseCacheStore;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
}

/**
 * One request's side of the response cache, kept on the Exchange (`ex.cache`) from the lookup
 * at the request body to the response's end: the `x-gateway-cache` status for the log line, and
 * on a miss (or a `no-cache` refresh) the writer of the answer. Writes never delay the caller:
 * a stream is copied as it passes (StreamAccumulator, bounded by `maxEntryBytes`) and every
 * save runs in the background; its outcome only counts (`gateway_cache_stores_total`,
 * `gateway_cache_store_skipped_total`).
 */
export class ExchangeCache {
  private copy: StreamAccumulator | undefined;
  private saved = false;

  constructor(
    private readonly cache: ResponseCache,
    readonly lookup: CacheLookup,
    private readonly labels: { model: string; team: string },
    private readonly metrics: GatewayMetrics,
  ) {}

  /** The `x-gateway-cache` value: hit, miss or bypass. */
  get status(): CacheStatus {
    return this.lookup.status;
  }

  /** The stored answer's usage on a hit (what the log line reports), else undefined. */
  get hitUsage(): Usage | undefined {
    return this.lookup.status === 'hit' ? fromOpenAIUsage(this.lookup.completion.usage) : undefined;
  }

  /** Response headers of a 200 SSE answer: start copying what the caller is sent (when it will be stored). */
  startStream(): void {
    if (this.lookup.storeKey !== undefined) this.copy = this.cache.accumulator();
  }

  /** A piece of the caller's SSE body, exactly as sent. */
  push(piece: string): void {
    this.copy?.push(piece);
  }

  /**
   * The stream's `[DONE]` went to the caller: store what was copied. `usage`: the usage the
   * request settles with (the translator's), for a stream that carried none (no `include_usage`).
   */
  endStream(usage: Usage | undefined): void {
    const copy = this.copy;
    if (!copy || this.saved) return;
    this.copy = undefined;
    const result = copy.finish(usage ? toOpenAIUsage(usage) : undefined);
    if ('reason' in result) return this.count({ stored: false, reason: result.reason });
    this.save(result.completion);
  }

  /**
   * A whole 200 answer as sent to the caller: JSON, or for a streaming caller whose provider
   * answered JSON (`sse`), the SSE body the gateway made of it.
   */
  saveBody(body: string, sse: boolean): void {
    if (this.lookup.storeKey === undefined || this.saved) return;
    if (sse) {
      this.startStream();
      this.push(body);
      return this.endStream(undefined);
    }
    const completion = completionFromBody(body);
    if (!completion) return this.count({ stored: false, reason: 'malformed' });
    this.save(completion);
  }

  private save(completion: NonNullable<ReturnType<typeof completionFromBody>>): void {
    const key = this.lookup.storeKey;
    if (key === undefined) return;
    this.saved = true;
    // Not awaited: ResponseCache.save never rejects; the caller's answer is already on its way.
    void this.cache.save(key, completion).then((o) => this.count(o));
  }

  private count(o: StoreOutcome): void {
    if (o.stored) this.metrics.cacheStores.inc(this.labels);
    else this.metrics.cacheStoreSkipped.inc({ ...this.labels, reason: o.reason });
  }
}

/** The cache's view of an Exchange, once the caller, model, plan and request are known. */
function cacheView(ex: Exchange): CacheRequest | undefined {
  if (!ex.caller || !ex.model || !ex.plan || !ex.request) return undefined;
  return {
    team: ex.caller.team,
    // The canonical model: an alias and its model share entries. After a budget degrade this
    // is the model that will answer, so its answers are what is looked up.
    publicModel: ex.model.aliasOf ?? ex.model.name,
    mode: ex.model.cache,
    request: ex.request,
    cacheControl: ex.cacheControl,
    forwardedHeaders: ex.providerHeaders,
    label: { id: ex.completionId, created: ex.created, publicModel: ex.model.name, stream: ex.stream, includeUsage: ex.includeUsage, usageCost: ex.caller.usageCost === true },
  };
}

/**
 * The response cache step on the Exchange (pipeline.ts, src/policy/index.ts): one ResponseCache
 * per config (its `server.responseCache` settings; a reload applies to the next request) over
 * the shared state store, with `view`/`remember` on the Exchange. Counts
 * `gateway_cache_requests_total`, `gateway_cache_bypass_total` and, for a hit, what it saved
 * (tokens, and USD at the price of the model's first planned target).
 */
export function exchangeCacheStep(deps: ExchangeCacheDeps): PolicyStep<Exchange, Settlement> {
  const steps = new WeakMap<RuntimeConfig, PolicyStep<Exchange, Settlement>>();
  // Every fault is counted; the log line is throttled (one per 10 s while the store is down).
  const warn = throttledWarn(deps.logger, 'response cache store fault (the cache fails open)');
  const onStoreError = (op: 'get' | 'set', err: unknown): void => {
    deps.metrics.cacheStoreErrors.inc({ op });
    warn({ err, op });
  };
  const m = deps.metrics;
  const remember = (ex: Exchange, lookup: CacheLookup, cache: ResponseCache): void => {
    const labels = { model: ex.model!.name, team: ex.caller!.team };
    ex.cache = new ExchangeCache(cache, lookup, labels, m);
    m.cacheRequests.inc({ ...labels, result: lookup.status });
    if (lookup.status === 'bypass') m.cacheBypasses.inc({ ...labels, reason: lookup.reason });
    if (lookup.status !== 'hit') return;
    const first = ex.model!.targets[ex.plan!.targets[0]!];
    const saving = cacheSaving(lookup.completion, (usage) => (first ? costOf(first.price, usage, Date.now()).usd : undefined));
    if (!saving) return;
    m.cacheSavedTokens.inc({ ...labels, type: 'input' }, saving.usage.promptTokens);
    m.cacheSavedTokens.inc({ ...labels, type: 'output' }, saving.usage.completionTokens);
    if (saving.costUsd !== undefined) m.cacheSavedCost.inc(labels, saving.costUsd);
  };
  const stepFor = (config: RuntimeConfig): PolicyStep<Exchange, Settlement> => {
    let step = steps.get(config);
    if (!step) {
      const cache = new ResponseCache(deps.store, config.responseCache, onStoreError);
      step = responseCacheStep<Exchange, Settlement>(cache, {
        view: cacheView,
        remember: (ex, lookup) => remember(ex, lookup, cache),
      });
      steps.set(config, step);
    }
    return step;
  };
  // One ResponseCache (and step) per config: its settings are the config's.
  return { id: 'response-cache', admit: (ex) => stepFor(ex.config).admit(ex) };
}
