import { CONTINUE, type PolicyStep, type Verdict } from '../pipeline.ts';
import type { CacheLookup, CacheRequest, ResponseCache } from './response-cache.ts';

/** How the step reads a request and where it leaves the lookup (the Exchange, in the gateway). */
export interface CacheStepIO<T> {
  /** The cache's view of the request, or undefined when it has none (no model resolved). */
  view(request: T): CacheRequest | undefined;
  /** Keeps the lookup with the request: its `storeKey` is needed at the response's end. */
  remember(request: T, lookup: CacheLookup): void;
}

/**
 * The response cache as a policy step (pipeline.ts), placed after authentication and scope
 * checks: a hit answers the request (`reply`), anything else continues with the
 * `x-gateway-cache` header for the caller's response. Never refuses: the cache fails open.
 * Storing is not part of the step: the request path calls ResponseCache.save at the response's
 * clean end with the remembered `storeKey`.
 */
export function responseCacheStep<T, S>(cache: ResponseCache, io: CacheStepIO<T>): PolicyStep<T, S> {
  return {
    id: 'response-cache',
    admit(request: T): Verdict | Promise<Verdict> {
      const view = io.view(request);
      if (!view) return CONTINUE;
      const verdict = (lookup: CacheLookup): Verdict => {
        io.remember(request, lookup);
        return lookup.status === 'hit' ? { kind: 'reply', reply: lookup.reply } : { kind: 'continue', headers: lookup.headers };
      };
      const found = cache.lookup(view);
      return found instanceof Promise ? found.then(verdict) : verdict(found);
    },
  };
}
