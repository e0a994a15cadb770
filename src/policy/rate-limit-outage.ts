import type { StateUnavailableError } from '../state/errors.ts';
import { OutageLog, type OutageLogger } from './outage-log.ts';
import type { OnStateError } from './rate-limit-schema.ts';

/** Where a policy reports state-backend faults: a log (transitions only) and a counter (every fault). */
export interface StateFaultSink {
  /** pino's shape; only outage transitions are logged, never one line per request (outage-log.ts). */
  readonly log?: OutageLogger;
  /** How long the backend must answer with no fault before the outage's end is logged, ms (default 5000). */
  readonly outageQuietMs?: number;
  /** The clock of that quiet period, epoch ms (default Date.now). */
  readonly outageClock?: () => number;
  /**
   * Every call that failed, for a counter such as
   * `gateway_policy_state_errors_total{policy, operation, mode}`.
   */
  readonly onStateError?: (event: { policy: string; operation: string; mode: OnStateError }) => void;
}

/**
 * Tracks whether one policy's state backend is down, so an outage is logged once when it starts
 * and once when it is over (OutageLog: after a quiet period with no fault), however many
 * requests pass in between.
 */
export class StateOutage {
  readonly #log: OutageLog;

  constructor(
    private readonly policy: string,
    private readonly sink: StateFaultSink,
  ) {
    this.#log = new OutageLog(sink.log, sink.outageQuietMs, sink.outageClock);
  }

  get down(): boolean {
    return this.#log.down;
  }

  fault(operation: string, mode: OnStateError, err: StateUnavailableError | undefined): void {
    this.sink.onStateError?.({ policy: this.policy, operation, mode });
    this.#log.fault(
      { policy: this.policy, operation, mode, ...(err ? { err } : {}) },
      `state backend unavailable: ${this.policy} ${mode === 'fail-open' ? 'admits on counts in this process' : 'refuses new requests with 503'} until it answers`,
    );
  }

  ok(): void {
    this.#log.ok({ policy: this.policy }, `state backend answers again: ${this.policy} uses it`);
  }
}
