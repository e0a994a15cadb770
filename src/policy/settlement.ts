import type { Outcome } from '../exchange/finish.ts';
import type { Usage } from '../openai/usage.ts';

/**
 * What a policy step learns when its request is settled (src/policy/pipeline.ts `settle`):
 * once per request, after the response ended for the caller, whatever way it ended.
 */
export interface Settlement {
  readonly outcome: Outcome | 'rejected';
  /**
   * Tokens the provider reported, or the gateway's estimate for a stream cut before the provider
   * counted (`estimated`); undefined when no provider answered (refused, Envoy's own reply).
   */
  readonly usage: Usage | undefined;
  readonly estimated: boolean;
  /** What the request cost at the target that served it, nano-USD (0 for a cache hit or a free model); undefined when no provider billed it. */
  readonly costNanoUsd: number | undefined;
  /** True when the gateway answered from its response cache: no provider was called. */
  readonly cacheHit: boolean;
}
