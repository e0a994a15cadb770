/**
 * A warning that repeats per request during an outage (a state backend down), logged at most once
 * per `intervalMs` (milliseconds) with the number of occurrences it stands for, so an outage at
 * production traffic writes a few lines, not thousands a second. Counters stay exact elsewhere.
 */
export function throttledWarn(logger: { warn(obj: object, msg: string): void }, msg: string, intervalMs = 10_000, now: () => number = Date.now): (fields: object) => void {
  let last = -Infinity;
  let suppressed = 0;
  return (fields) => {
    const t = now();
    if (t - last < intervalMs) {
      suppressed++;
      return;
    }
    last = t;
    logger.warn({ ...fields, occurrences: suppressed + 1, interval_ms: intervalMs }, msg);
    suppressed = 0;
  };
}
