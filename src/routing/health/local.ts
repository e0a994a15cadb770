import { Breaker, type TransitionListener } from './breaker.ts';
import { defaultHealthConfig, type HealthConfig } from './breaker-schema.ts';
import { Cooldown } from './cooldown.ts';
import { judgedLatencyMs, type AttemptOutcome } from './outcome.ts';
import { evictLeastRecent, finishSnapshot, reconfigureTarget, windowFigures } from './snapshot.ts';
import type { TargetHealth } from './target-health.ts';
import { UNMEASURED, type TargetHealthSnapshot, type TargetKey } from './view.ts';
import { HealthWindow, sampleOf } from './window.ts';

/**
 * Per-process target health (issue 9): the write side (`record` one attempt's outcome,
 * `tryProbe` for a half-open breaker) and the read side (`HealthView.get`) the routing
 * strategies use. Pieces: window.ts (sub-window counters, p95, decaying latency),
 * breaker.ts (the latency and error breakers, half-open probe), cooldown.ts (429s).
 *
 * **The fleet version** (fleet/fleet-health.ts, with REDIS_URL) sits on the same pieces: the
 * windows' epoch-aligned sub-window counters are added up across replicas in Redis, breaker
 * decisions are shared as a record, the half-open probe is a claim one replica holds, and a
 * cool-down's end is a key (fleet/keys.ts has the layout).
 *
 * Cheap: `record` is O(1); `get` returns a cached, frozen snapshot, recomputed only when the
 * target's data, its breaker or the second changed. Memory: at most `maxTargets` targets (~40
 * KB each); a closed, not cooling target not recorded for `idleDropMs` is dropped.
 */
export interface LocalHealthOptions {
  /** Parsed health settings (breaker-schema.ts); the defaults when absent. */
  readonly config?: HealthConfig;
  /** Every breaker state change (for logs and metrics). Called synchronously; should not throw. */
  readonly onTransition?: TransitionListener;
  /** A closed, not cooling target's state is dropped after this long without a record, ms (default 1 h, at least the window). */
  readonly idleDropMs?: number;
  /** Most targets tracked at once (default 256); beyond, the least recently recorded is dropped. */
  readonly maxTargets?: number;
}


const SWEEP_EVERY_MS = 60_000;

class TargetState {
  window: HealthWindow;
  readonly breaker: Breaker;
  readonly cooldown: Cooldown;
  lastSeenMs: number;
  /** Bumped on every change of the data behind the snapshot. */
  version = 0;
  snapshot: TargetHealthSnapshot | undefined;
  snapshotVersion = -1;
  snapshotSecond = -1;

  constructor(key: TargetKey, config: HealthConfig, emit: TransitionListener, nowMs: number) {
    this.window = new HealthWindow(config.breaker.errors.windowMs, config.latencyHalfLifeMs);
    this.breaker = new Breaker(key, config.breaker, emit, () => this.window.clearErrorCounts());
    this.cooldown = new Cooldown(config.rateLimited);
    this.lastSeenMs = nowMs;
  }
}

export class LocalHealth implements TargetHealth {
  private config: HealthConfig;
  private readonly targets = new Map<TargetKey, TargetState>();
  private readonly emit: TransitionListener;
  private readonly idleDropMs: number;
  private readonly maxTargets: number;
  private lastSweepMs = 0;

  constructor(options: LocalHealthOptions = {}) {
    this.config = options.config ?? defaultHealthConfig();
    this.emit = options.onTransition ?? (() => {});
    this.idleDropMs = Math.max(options.idleDropMs ?? 3_600_000, this.config.breaker.errors.windowMs);
    this.maxTargets = Math.max(1, options.maxTargets ?? 256);
  }

  /**
   * New settings (a config reload). Every target keeps its breaker state, cool-down and window;
   * only a changed `errors.windowMs` or `latencyHalfLifeMs` starts the targets' windows afresh
   * (their sub-windows are cut by them), so the figures rebuild from new traffic.
   */
  configure(config: HealthConfig): void {
    const old = this.config;
    this.config = config;
    for (const st of this.targets.values()) reconfigureTarget(st, old, config);
  }

  /** Records one upstream attempt's outcome (outcome.ts). O(1). */
  record(o: AttemptOutcome): void {
    if (!Number.isFinite(o.atMs)) throw new TypeError(`health: outcome for ${o.key} has no finite atMs (${o.atMs})`);
    const st = this.stateFor(o.key, o.atMs);
    const latencyMs = judgedLatencyMs(o);
    st.window.add(o.atMs, sampleOf(o, latencyMs));
    if (o.result === 'rate_limited') st.cooldown.onRateLimited(o.atMs, o.retryAfterMs);
    else if (o.result === 'ok') st.cooldown.onAnswer();
    if (o.atMs > st.lastSeenMs) st.lastSeenMs = o.atMs;
    st.version += 1;
    if (o.atMs - this.lastSweepMs >= SWEEP_EVERY_MS) this.sweep(o.atMs);
    // Last: it may call onTransition, and a listener that throws must find the state complete.
    st.breaker.onOutcome({ result: o.result, atMs: o.atMs, latencyMs, windowAttempts: st.window.totalAttempts, windowErrors: st.window.totalErrors });
  }

  /**
   * May a request go to `key` at `nowMs` (epoch ms)? True for a closed breaker (and an unknown
   * target), false for an open one; for a half-open one, true for exactly one caller until that
   * probe's outcome is recorded or `probeTimeoutMs` passes. Call it only when the request will
   * really try the target if granted: a grant holds the probe.
   */
  releaseProbe(key: TargetKey): void {
    this.targets.get(key)?.breaker.releaseProbe();
  }

  tryProbe(key: TargetKey, nowMs: number): boolean {
    const st = this.targets.get(key);
    if (st === undefined) return true;
    const before = st.breaker.state;
    const granted = st.breaker.tryProbe(nowMs);
    if (st.breaker.state !== before) st.version += 1;
    return granted;
  }

  /**
   * The target's health at `nowMs` (epoch ms): a frozen snapshot, shared until something changes.
   * An open breaker whose period is over turns half-open here (and calls onTransition).
   */
  get(key: TargetKey, nowMs: number): TargetHealthSnapshot {
    const st = this.targets.get(key);
    if (st === undefined) return UNMEASURED;
    if (st.window.advance(nowMs)) st.version += 1;
    if (st.breaker.advance(nowMs)) st.version += 1;
    const second = Math.floor(nowMs / 1000);
    const cached = st.snapshot;
    if (cached !== undefined && st.snapshotVersion === st.version && st.snapshotSecond === second && cached.breaker === st.breaker.state) return cached;
    st.snapshot = this.snapshotOf(st, nowMs);
    st.snapshotVersion = st.version;
    st.snapshotSecond = second;
    return st.snapshot;
  }

  /** Epoch ms of the last attempt recorded for `key` (or when it was first tracked); undefined when not tracked. For active probes (probes/scheduler.ts). */
  lastRecordedMs(key: TargetKey): number | undefined {
    return this.targets.get(key)?.lastSeenMs;
  }

  /** Targets tracked now (for metrics and tests). */
  get size(): number {
    return this.targets.size;
  }

  private snapshotOf(st: TargetState, nowMs: number): TargetHealthSnapshot {
    return finishSnapshot(windowFigures(st.window, st.breaker), st.breaker, st.cooldown.untilMs, nowMs);
  }

  private stateFor(key: TargetKey, nowMs: number): TargetState {
    let st = this.targets.get(key);
    if (st !== undefined) return st;
    if (this.targets.size >= this.maxTargets) {
      this.sweep(nowMs);
      if (this.targets.size >= this.maxTargets) evictLeastRecent(this.targets);
    }
    st = new TargetState(key, this.config, this.emit, nowMs);
    this.targets.set(key, st);
    return st;
  }

  /** Drops closed, not cooling targets not recorded for `idleDropMs` (an open breaker is kept: dropping it would close it). */
  private sweep(nowMs: number): void {
    this.lastSweepMs = nowMs;
    for (const [key, st] of this.targets) {
      if (nowMs - st.lastSeenMs >= this.idleDropMs && st.breaker.state === 'closed' && st.cooldown.untilMs <= nowMs) this.targets.delete(key);
    }
  }
}
