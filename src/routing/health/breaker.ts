import type { BreakerConfig } from './breaker-schema.ts';
import type { AttemptResult } from './outcome.ts';
import { isTargetError } from './outcome.ts';
import type { BreakerReason, BreakerState, TargetKey } from './view.ts';

/** A breaker's state change, for logs and metrics (the lead wires them to `onTransition`). */
export interface BreakerTransition {
  readonly key: TargetKey;
  readonly from: BreakerState;
  readonly to: BreakerState;
  /** What the breaker is about: the latency or the error rule (the one that opened it). */
  readonly reason: BreakerReason;
  /** Epoch ms of the change (for open → half-open: when it was noticed). */
  readonly atMs: number;
  /** The evidence, for a log line, e.g. `3 attempts in a row above 10000 ms (last 12034 ms)`. */
  readonly detail: string;
  /**
   * With fleet health (src/routing/health/fleet/): `local` for a change this replica decided,
   * `fleet` for one it took from another replica through Redis (report.ts counts those apart).
   * Absent per process (LocalHealth).
   */
  readonly source?: 'local' | 'fleet';
}

export type TransitionListener = (t: BreakerTransition) => void;

/** What the breaker sees of one attempt (outcome.ts), after the window counted it. */
export interface BreakerInput {
  readonly result: AttemptResult;
  readonly atMs: number;
  /** The judged latency (outcome.ts `judgedLatencyMs`), ms. */
  readonly latencyMs: number | undefined;
  /** The window's totals including this attempt. */
  readonly windowAttempts: number;
  readonly windowErrors: number;
}

/**
 * One target's circuit breaker (issue 9):
 * - closed → open (latency): `consecutive` attempts in a row slower than `thresholdMs`; an
 *   answer within it resets the run; a fast failure neither extends nor resets it (failures
 *   are the error rule's business), a slow one extends it.
 * - closed → open (errors): after an attempt (answer or target error; not a caller's 4xx or a
 *   429) the window holds ≥ `minRequests` attempts with an error share above `rate`.
 * - open → half-open: `openMs` after opening, noticed lazily by the next call.
 * - half-open: `tryProbe` grants one caller at a time; a grant not settled within
 *   `probeTimeoutMs` lapses (a lost probe cannot wedge the breaker). The next outcome recorded
 *   while a probe is out settles it: an answer within `thresholdMs` closes (clearing the
 *   window's error counts and the slow run, `onClosed`), a failure or a slow answer reopens
 *   for `openMs`; a caller's 4xx or a 429 only releases the grant (they say nothing about
 *   recovery).
 * Outcomes recorded while open only feed the figures.
 */
export class Breaker {
  state: BreakerState = 'closed';
  reason: BreakerReason | undefined;
  /** Epoch ms when the open period ends. */
  openUntilMs = 0;
  /** Epoch ms until which the granted probe holds the half-open breaker; 0 without a probe out. */
  private probeUntilMs = 0;
  private slowRun = 0;

  constructor(
    private readonly key: TargetKey,
    private config: BreakerConfig,
    private readonly emit: TransitionListener,
    /** Called when the breaker closes after a probe, to clear the window's error counts. */
    private readonly onClosed: () => void,
  ) {}

  /**
   * New settings (a config reload): the state stays as it is (an open breaker keeps its end
   * time, a slow run its length); the next judgement uses `config`.
   */
  setConfig(config: BreakerConfig): void {
    this.config = config;
  }

  /** Notices the end of the open period at `nowMs`. True when the state changed. */
  advance(nowMs: number): boolean {
    if (this.state !== 'open' || nowMs < this.openUntilMs) return false;
    this.state = 'half-open';
    this.probeUntilMs = 0;
    this.emit({ key: this.key, from: 'open', to: 'half-open', reason: this.reason!, atMs: nowMs, detail: `open period of ${this.openMs(this.reason!)} ms over: one probe may pass` });
    return true;
  }

  /**
   * May a request go to the target at `nowMs`? Closed: yes; open: no; half-open: yes for one
   * caller, until its outcome is recorded or `probeTimeoutMs` passes.
   */
  tryProbe(nowMs: number): boolean {
    this.advance(nowMs);
    if (this.state === 'closed') return true;
    if (this.state === 'open' || nowMs < this.probeUntilMs) return false;
    this.probeUntilMs = nowMs + this.config.probeTimeoutMs;
    return true;
  }

  /** Gives a granted probe back unused (the request never tried the target), so the next request may take it. */
  releaseProbe(): void {
    if (this.state === 'half-open') this.probeUntilMs = 0;
  }

  /** Judges one recorded attempt. True when the state changed. */
  onOutcome(o: BreakerInput): boolean {
    const changed = this.advance(o.atMs);
    const threshold = this.config.latency.thresholdMs;
    const slow = o.latencyMs !== undefined && o.latencyMs > threshold;
    if (this.state === 'open') return changed;
    if (this.state === 'half-open') {
      if (this.probeUntilMs === 0) return changed;
      if (o.result === 'client_error' || o.result === 'rate_limited') {
        this.probeUntilMs = 0;
        return changed;
      }
      if (o.result === 'ok' && !slow) {
        this.close(o.atMs, `probe answered in ${o.latencyMs === undefined ? '?' : Math.round(o.latencyMs)} ms`);
      } else {
        const reason: BreakerReason = isTargetError(o.result) ? 'errors' : 'latency';
        this.open(reason, o.atMs, isTargetError(o.result) ? `probe failed (${o.result})` : `probe answered in ${Math.ceil(o.latencyMs!)} ms, above ${threshold} ms`, 'half-open');
      }
      return true;
    }
    // closed
    if (o.result === 'client_error' || o.result === 'rate_limited') return changed;
    if (slow) {
      this.slowRun += 1;
      if (this.slowRun >= this.config.latency.consecutive) {
        this.open('latency', o.atMs, `${this.slowRun} attempts in a row above ${threshold} ms (last ${Math.ceil(o.latencyMs!)} ms)`, 'closed');
        return true;
      }
    } else if (o.result === 'ok') {
      this.slowRun = 0;
    }
    // Checked on every counted attempt: an answer can bring the volume up to minRequests.
    return this.judgeErrors(o.atMs, o.windowAttempts, o.windowErrors) || changed;
  }

  /**
   * The error rule alone, for a closed breaker: opens (and reports) when `windowAttempts` ≥
   * `minRequests` and the error share is above `rate`. True when it opened. Fleet health calls
   * it after merging the replicas' windows, when no attempt of its own came to trigger it.
   */
  judgeErrors(atMs: number, windowAttempts: number, windowErrors: number): boolean {
    if (this.state !== 'closed') return false;
    const { rate, minRequests, windowMs } = this.config.errors;
    // Compared as a quotient: errors/attempts of whole numbers rounds like the configured rate
    // (29/100 === 0.29), where rate × attempts may not (0.29 × 100 = 28.999…).
    if (windowAttempts >= minRequests && windowErrors / windowAttempts > rate) {
      const pct = ((100 * windowErrors) / windowAttempts).toFixed(1);
      this.open('errors', atMs, `${windowErrors} of ${windowAttempts} attempts failed (${pct} %) in ${windowMs} ms, above ${+(rate * 100).toFixed(4)} %`, 'closed');
      return true;
    }
    return false;
  }

  /**
   * Takes a state another replica decided (fleet health, src/routing/health/fleet/): `open`
   * until `openUntilMs` for `reason`, or `closed`. Judges and reports nothing (the caller
   * reports the change as adopted); drops a probe out and the slow run. An adopted open turns
   * half-open at `openUntilMs` like any other (advance).
   */
  adopt(state: 'open' | 'closed', reason: BreakerReason | undefined, openUntilMs: number): void {
    this.state = state;
    this.reason = state === 'open' ? reason : undefined;
    this.openUntilMs = state === 'open' ? openUntilMs : 0;
    this.probeUntilMs = 0;
    this.slowRun = 0;
  }

  private openMs(reason: BreakerReason): number {
    return reason === 'latency' ? this.config.latency.openMs : this.config.errors.openMs;
  }

  private open(reason: BreakerReason, atMs: number, detail: string, from: BreakerState): void {
    this.state = 'open';
    this.reason = reason;
    this.openUntilMs = atMs + this.openMs(reason);
    this.probeUntilMs = 0;
    this.slowRun = 0;
    this.emit({ key: this.key, from, to: 'open', reason, atMs, detail });
  }

  private close(atMs: number, detail: string): void {
    const reason = this.reason!;
    this.state = 'closed';
    this.reason = undefined;
    this.openUntilMs = 0;
    this.probeUntilMs = 0;
    this.slowRun = 0;
    this.onClosed();
    this.emit({ key: this.key, from: 'half-open', to: 'closed', reason, atMs, detail });
  }
}
