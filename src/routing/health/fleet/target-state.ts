import { Breaker, type TransitionListener } from '../breaker.ts';
import type { HealthConfig } from '../breaker-schema.ts';
import { Cooldown } from '../cooldown.ts';
import type { TargetHealthSnapshot, TargetKey } from '../view.ts';
import { HealthWindow } from '../window.ts';
import { PendingDeltas } from './deltas.ts';
import type { FleetFigures } from './merged.ts';

/** Generation of the error counts before any close (keys.ts). */
export const FIRST_GEN = '0';

/**
 * What one replica keeps about one target under fleet health: its own samples (the local
 * window, the figures while Redis is away), what it has not flushed yet, the fleet's figures
 * as last read, the breaker (its own decisions and the fleet's, adopted), the cool-downs, and
 * its claim on the half-open probe.
 */
export class FleetTargetState {
  window: HealthWindow;
  pending = new PendingDeltas();
  /** Attempts and errors taken by a sync whose reply has not come yet. */
  inFlightAttempts = 0;
  inFlightErrors = 0;
  /** The fleet's figures at the last sync; undefined before the first. */
  fleet: FleetFigures | undefined;
  /** The fleet's attempts and errors of generation `gen` at the last sync (zeroed when the breaker closes here). */
  fleetAttempts = 0;
  fleetErrors = 0;
  /**
   * The fleet's sub-window hashes as last read, by sub-window index: a sync re-reads only the
   * newest ones (and those it wrote), all of them every `FULL_READ_EVERY_MS`.
   */
  readonly windowCache = new Map<number, Record<string, string>>();
  /** This replica's clock when the whole window was last read; 0: never. */
  fullReadAtMs = 0;
  /** The newest sub-window the last answered sync read. */
  readThroughSub = 0;
  /** This replica's clock (FleetHealth `now`) at the last sync that answered; 0: never. */
  syncedAtMs = 0;
  readonly breaker: Breaker;
  readonly cooldown: Cooldown;
  /** The fleet's cool-down end, epoch ms (0: none). */
  fleetCoolingUntilMs = 0;
  /** Error-count generation (keys.ts): changes at every close, here or adopted. */
  gen = FIRST_GEN;
  /** The id of the fleet breaker record last written or adopted here. */
  lastRecordId: string | undefined;
  /** Bumped at every breaker decision of this replica: a sync's read older than one is not adopted. */
  localChanges = 0;
  /** Whether the open period running now was decided here (its end is then this replica's to count). */
  openedHere = false;
  /** The evidence of the last decision here, for the record. */
  lastDetail = '';
  /** The breaker state awaits publishing (a write failed, or Redis lost it). */
  breakerDirty = false;
  /** The local cool-down end awaits publishing. */
  cooldownDirty = false;
  /** Epoch ms until which this replica holds the half-open probe claim; 0: none. */
  claimUntilMs = 0;
  claimPending = false;
  /** No new claim before this (another replica holds it), epoch ms. */
  claimRetryAtMs = 0;
  /** Last recorded (or read) at, epoch ms: for dropping idle targets. */
  lastSeenMs: number;
  /** Last attempt recorded at, epoch ms; undefined before the first. */
  lastRecordedMs: number | undefined;
  version = 0;
  snapshot: TargetHealthSnapshot | undefined;
  snapshotVersion = -1;
  snapshotSecond = -1;
  snapshotFleet = false;

  constructor(key: TargetKey, config: HealthConfig, emit: TransitionListener, onClosed: () => void, nowMs: number) {
    this.window = new HealthWindow(config.breaker.errors.windowMs, config.latencyHalfLifeMs);
    this.breaker = new Breaker(key, config.breaker, emit, onClosed);
    this.cooldown = new Cooldown(config.rateLimited);
    this.lastSeenMs = nowMs;
  }

  /** Forgets every error count of the generation that just ended (a close). */
  clearErrorCounts(): void {
    this.window.clearErrorCounts();
    this.pending.clearErrorCounts();
    this.inFlightAttempts = 0;
    this.inFlightErrors = 0;
    this.fleetAttempts = 0;
    this.fleetErrors = 0;
  }
}
