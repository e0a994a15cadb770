import type { BreakerTransition } from '../../../src/routing/health/breaker.ts';
import { healthSchema, type HealthConfig } from '../../../src/routing/health/breaker-schema.ts';
import { LocalHealth } from '../../../src/routing/health/local.ts';
import type { AttemptOutcome, AttemptResult } from '../../../src/routing/health/outcome.ts';

/** An epoch-ms instant at the start of a 10 s sub-window (the default 5 min window's). */
export const T0 = 1_760_000_000_000;
export const KEY = 'openai/gpt-4o-mini';

/** A LocalHealth with the defaults (or `config` merged in) and its recorded transitions. */
export function health(config: unknown = {}, options: { maxTargets?: number; idleDropMs?: number } = {}): { h: LocalHealth; transitions: BreakerTransition[]; config: HealthConfig } {
  const transitions: BreakerTransition[] = [];
  const parsed = healthSchema.parse(config);
  const h = new LocalHealth({ config: parsed, onTransition: (t) => transitions.push(t), ...options });
  return { h, transitions, config: parsed };
}

/** A non-streamed attempt's outcome at `atMs` taking `totalMs`. */
export function json(atMs: number, totalMs: number, result: AttemptResult = 'ok', extra: Partial<AttemptOutcome> = {}): AttemptOutcome {
  return { key: KEY, stream: false, atMs, totalMs, result, ...extra };
}

/** A streamed attempt's outcome: first token after `ttftMs`, end after `totalMs`. */
export function stream(atMs: number, ttftMs: number, totalMs: number, result: AttemptResult = 'ok'): AttemptOutcome {
  return { key: KEY, stream: true, atMs, ttftMs, totalMs, result };
}

/** Transitions as `from>to:reason` strings, for compact assertions. */
export const steps = (ts: readonly BreakerTransition[]): string[] => ts.map((t) => `${t.from}>${t.to}:${t.reason}`);
