import type { Breaker } from './breaker.ts';
import type { TargetHealthSnapshot } from './view.ts';
import { JSON_ANSWER, STREAM, type HealthWindow } from './window.ts';

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
