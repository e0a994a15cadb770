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
}
