/** pino's shape, as the policies get it. */
export interface OutageLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** How long the backend must answer with no fault before an outage is logged as over, ms. */
export const OUTAGE_QUIET_MS = 5000;

/**
 * The log lines of one policy's state-backend outage, with hysteresis: one warn when the first
 * fault comes, one info once the backend has answered and no call has failed for `quietMs`
 * (default 5 s). Without the quiet period, a Redis Cluster with one shard down (its teams fail,
 * the others answer) or a command timeout at the edge of the backend's latency flips between
 * fault and success call by call, and logged a pair of lines per request. The end line says how
 * many calls failed and how long the outage lasted (first to last fault, ms). Logging only: what
 * a policy does during the outage is its own state.
 */
export class OutageLog {
  private downSinceMs: number | undefined;
  private lastFaultMs = 0;
  private failedCalls = 0;

  constructor(
    private readonly log: OutageLogger | undefined,
    private readonly quietMs = OUTAGE_QUIET_MS,
    private readonly now: () => number = Date.now,
  ) {}

  get down(): boolean {
    return this.downSinceMs !== undefined;
  }

  fault(obj: object, msg: string): void {
    const t = this.now();
    this.lastFaultMs = t;
    this.failedCalls++;
    if (this.downSinceMs !== undefined) return;
    this.downSinceMs = t;
    this.failedCalls = 1;
    this.log?.warn(obj, msg);
  }

  ok(obj: object, msg: string): void {
    if (this.downSinceMs === undefined || this.now() - this.lastFaultMs < this.quietMs) return;
    this.log?.info({ ...obj, failed_calls: this.failedCalls, outage_ms: this.lastFaultMs - this.downSinceMs }, msg);
    this.downSinceMs = undefined;
  }
}
