import type { Breaker } from './breaker.ts';
import type { Cooldown } from './cooldown.ts';
import type { HealthConfig } from './breaker-schema.ts';
import type { TargetHealthSnapshot } from './view.ts';
import { HealthWindow, JSON_ANSWER, STREAM } from './window.ts';

/** A snapshot while it is being built (frozen by finishSnapshot). */
export type SnapshotDraft = { -readonly [K in keyof TargetHealthSnapshot]: TargetHealthSnapshot[K] };

/** The figures one HealthWindow holds (latency, p95, samples, error rate, cached share), with `breaker`'s state. */
export function windowFigures(w: HealthWindow, breaker: Breaker): SnapshotDraft {
  return {
    latencyMs: Object.freeze(withKinds(w.decayedLatencyMs(STREAM), w.decayedLatencyMs(JSON_ANSWER))),
    p95Ms: Object.freeze(withKinds(w.quantileMs(STREAM, 0.95), w.quantileMs(JSON_ANSWER, 0.95))),
    samples: w.sampleCount(STREAM) + w.sampleCount(JSON_ANSWER),
    errorRate: w.totalAttempts > 0 ? w.totalErrors / w.totalAttempts : 0,
    attempts: w.totalAttempts,
    cachedInputShare: w.totalPromptTokens > 0 ? w.totalCachedTokens / w.totalPromptTokens : 0,
    breaker: breaker.state,
  };
}

/** Adds why the breaker is open (and until when) and a cool-down still running at `nowMs` (epoch ms), then freezes. */
export function finishSnapshot(s: SnapshotDraft, breaker: Breaker, coolingUntilMs: number, nowMs: number): TargetHealthSnapshot {
  if (breaker.reason !== undefined) s.breakerReason = breaker.reason;
  if (breaker.state === 'open') s.openUntilMs = breaker.openUntilMs;
  if (coolingUntilMs > nowMs) s.coolingUntilMs = coolingUntilMs;
  return Object.freeze(s);
}

/** Drops the entry recorded longest ago (a full target map making room). */
export function evictLeastRecent<K>(targets: Map<K, { readonly lastSeenMs: number }>): void {
  let oldestKey: K | undefined;
  let oldest = Infinity;
  for (const [key, st] of targets) {
    if (st.lastSeenMs < oldest) {
      oldest = st.lastSeenMs;
      oldestKey = key;
    }
  }
  if (oldestKey !== undefined) targets.delete(oldestKey);
}

function withKinds(stream: number | undefined, json: number | undefined): { stream?: number; json?: number } {
  const out: { stream?: number; json?: number } = {};
  if (stream !== undefined) out.stream = stream;
  if (json !== undefined) out.json = json;
  return out;
}

/**
 * A config reload applied to one target's state, for LocalHealth and FleetHealth alike: its
 * breaker and cool-down take the new settings and keep their state; a changed `errors.windowMs`
 * or `latencyHalfLifeMs` (which cut the sub-windows) starts its window afresh. Bumps `version`.
 * Returns whether the window was restarted (FleetHealth then drops its fleet figures too).
 */
export function reconfigureTarget(st: { window: HealthWindow; readonly breaker: Breaker; readonly cooldown: Cooldown; version: number }, old: HealthConfig, config: HealthConfig): boolean {
  st.breaker.setConfig(config.breaker);
  st.cooldown.setConfig(config.rateLimited);
  st.version += 1;
  if (old.breaker.errors.windowMs === config.breaker.errors.windowMs && old.latencyHalfLifeMs === config.latencyHalfLifeMs) return false;
  st.window = new HealthWindow(config.breaker.errors.windowMs, config.latencyHalfLifeMs);
  return true;
}
