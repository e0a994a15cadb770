import type { AttemptOutcome } from './outcome.ts';
import type { HealthView, TargetKey } from './view.ts';

/**
 * What the request path feeds and asks about targets: the read side (HealthView), each upstream
 * attempt's outcome, and the half-open probe. LocalHealth (local.ts) is the per-process one.
 */
export interface TargetHealth extends HealthView {
  /** One upstream attempt's outcome (see outcome.ts); O(1), never throws for a well-formed outcome. */
  record(o: AttemptOutcome): void;
  /** True for exactly one caller per half-open probe (and for any caller while the breaker is closed). */
  tryProbe(key: TargetKey, nowMs: number): boolean;
  /**
   * Gives back a probe tryProbe granted to a request that then never tried the target (refused
   * by a limit or budget, answered from the cache, or answered by an earlier target), so the
   * half-open breaker does not wait `probeTimeoutMs` for an outcome that cannot come.
   */
  releaseProbe(key: TargetKey): void;
}
