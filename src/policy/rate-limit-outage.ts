import type { StateUnavailableError } from '../state/errors.ts';
import type { OnStateError } from './rate-limit-schema.ts';

/** Where a policy reports state-backend faults: a log (transitions only) and a counter (every fault). */
export interface StateFaultSink {
  /** pino's shape; only outage transitions are logged, never one line per request. */
  readonly log?: {
    warn(obj: object, msg: string): void;
    info(obj: object, msg: string): void;
  };
  /**
   * Every call that failed, for a counter such as
   * `gateway_policy_state_errors_total{policy, operation, mode}`.
   */
  readonly onStateError?: (event: { policy: string; operation: string; mode: OnStateError }) => void;
}

/**
 * Tracks whether one policy's state backend is down, so an outage is logged once when it starts
 * (the first fault after a success) and once when it ends (the first success after a fault),
 * however many requests pass in between.
 */
export class StateOutage {
  #down = false;

  constructor(
    private readonly policy: string,
    private readonly sink: StateFaultSink,
  ) {}

  get down(): boolean {
    return this.#down;
  }

  fault(operation: string, mode: OnStateError, err: StateUnavailableError | undefined): void {
    this.sink.onStateError?.({ policy: this.policy, operation, mode });
    if (this.#down) return;
    this.#down = true;
    this.sink.log?.warn(
      { policy: this.policy, operation, mode, ...(err ? { err } : {}) },
      `state backend unavailable: ${this.policy} ${mode === 'fail-open' ? 'counts in this process' : 'refuses with 503'} until it answers`,
    );
  }

  ok(): void {
    if (!this.#down) return;
    this.#down = false;
    this.sink.log?.info({ policy: this.policy }, `state backend answers again: ${this.policy} uses it`);
  }
}
