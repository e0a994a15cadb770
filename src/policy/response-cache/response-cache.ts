import type { ChatCompletion } from '../../openai/chat-response.ts';
import type { ChatRequest } from '../../openai/chat-request.ts';
import type { GatewayReply } from '../pipeline.ts';
import type { ModelCacheMode, ResponseCacheSettings } from './cache-config.ts';
import { parseCacheControl } from './cache-control.ts';
import { decodeEntry, encodeEntry, type NotStoredReason } from './cache-entry.ts';
import { cacheKey } from './cache-key.ts';
import { decideCache, type CacheBypassReason, type CacheStatus } from './cache-policy.ts';
import { replayReply, type ReplayLabel } from './cache-replay.ts';
import type { ResponseCacheStore } from './store.ts';
import { StreamAccumulator } from './stream-accumulator.ts';

/** One request, as the cache sees it at the request body phase (after auth and scope checks). */
export interface CacheRequest {
  readonly team: string;
  /** The resolved public model (not an alias). */
  readonly publicModel: string;
  /** The model's `cache` setting. */
  readonly mode: ModelCacheMode;
  readonly request: ChatRequest;
  /** The caller's `cache-control` request header, if any. */
  readonly cacheControl: string | undefined;
  /** Caller headers forwarded to the provider (they are part of the key, cache-key.ts). */
  readonly forwardedHeaders?: Readonly<Record<string, string>>;
  readonly label: ReplayLabel;
}

/**
 * The lookup's outcome. `headers` go on the caller's response whatever happens next
 * (`x-gateway-cache`). `storeKey` is set when a clean answer must be written under it
 * (a miss, or a `no-cache` refresh). On a hit, `reply` is the whole answer and `completion`
 * the stored one (for cacheSaving).
 */
export type CacheLookup =
  | { readonly status: 'hit'; readonly headers: Record<string, string>; readonly reply: GatewayReply; readonly completion: ChatCompletion; readonly storeKey: undefined }
  | { readonly status: 'miss'; readonly headers: Record<string, string>; readonly storeKey: string }
  | { readonly status: 'bypass'; readonly headers: Record<string, string>; readonly reason: CacheBypassReason; readonly storeKey: string | undefined };

export type StoreOutcome = { readonly stored: true; readonly bytes: number } | { readonly stored: false; readonly reason: NotStoredReason | 'store_error' };

const header = (status: CacheStatus): Record<string, string> => ({ 'x-gateway-cache': status });

/**
 * The response cache (issue 8 item 5) over a ResponseCacheStore: decides, looks up, replays
 * and stores. Never throws and never rejects: a store fault is a bypass on read and a
 * `store_error` outcome on write (the cache fails open; `onStoreError` sees the fault for
 * logs and `gateway_cache_store_errors_total`).
 */
export class ResponseCache {
  constructor(
    private readonly store: ResponseCacheStore,
    private readonly settings: ResponseCacheSettings,
    private readonly onStoreError: (op: 'get' | 'set', err: unknown) => void = () => undefined,
  ) {}

  /**
   * Request body phase: decide, and on a read, look the answer up. A bypass is answered
   * synchronously: most requests are not cacheable, and they should not pay a promise here.
   */
  lookup(req: CacheRequest, now = Date.now()): CacheLookup | Promise<CacheLookup> {
    const decision = decideCache(req.request, req.mode, parseCacheControl(req.cacheControl), this.settings.enabled);
    if (!decision.read && !decision.write) return { status: 'bypass', headers: header('bypass'), reason: decision.reason!, storeKey: undefined };
    const key = cacheKey(req);
    if (!decision.read) return { status: 'bypass', headers: header('bypass'), reason: decision.reason!, storeKey: key };
    return this.read(key, req, now);
  }

  private async read(key: string, req: CacheRequest, now: number): Promise<CacheLookup> {
    let bytes: Uint8Array | undefined;
    try {
      bytes = await this.store.get(key);
    } catch (err) {
      this.onStoreError('get', err);
      return { status: 'bypass', headers: header('bypass'), reason: 'store_error', storeKey: key };
    }
    const entry = bytes === undefined ? undefined : decodeEntry(bytes);
    if (!entry) return { status: 'miss', headers: header('miss'), storeKey: key };
    const reply = replayReply(entry, req.label, now);
    return { status: 'hit', headers: header('hit'), reply, completion: entry.completion, storeKey: undefined };
  }

  /** A bounded accumulator for a streamed answer to be stored (stream-accumulator.ts). */
  accumulator(): StreamAccumulator {
    return new StreamAccumulator(this.settings.maxEntryBytes);
  }

  /**
   * Response end, on a clean 200 only (a JSON answer, or a stream whose accumulator finished):
   * writes `completion` under `storeKey` unless it must not be stored (cache-entry.ts).
   */
  async save(storeKey: string, completion: ChatCompletion, now = Date.now()): Promise<StoreOutcome> {
    const encoded = encodeEntry(completion, this.settings.maxEntryBytes, now);
    if ('reason' in encoded) return { stored: false, reason: encoded.reason };
    try {
      await this.store.set(storeKey, encoded.bytes, this.settings.ttlSeconds * 1000);
      return { stored: true, bytes: encoded.bytes.byteLength };
    } catch (err) {
      this.onStoreError('set', err);
      return { stored: false, reason: 'store_error' };
    }
  }
}
