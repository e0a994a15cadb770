/** Which implementation of the state layer answered (or failed). */
export type StateBackend = 'embedded' | 'redis';

/**
 * The state backend could not answer: Redis down, slow beyond `commandTimeoutMs`, failing over;
 * the SQLite file unwritable. Never an over-limit verdict (that is a result, not an error).
 * Callers apply their concern's configured failure mode (fail-open / fail-closed).
 * `message` names backend and operation only: no host, port or credential, so it is safe to log.
 */
export class StateUnavailableError extends Error {
  constructor(
    readonly backend: StateBackend,
    /** The store method that failed, e.g. `reserve`, `settleSpend`. */
    readonly operation: string,
    cause: unknown,
  ) {
    super(`state backend ${backend} unavailable during ${operation}: ${reason(cause)}`, { cause });
    this.name = 'StateUnavailableError';
  }
}

/** A short reason without addresses (ioredis puts `host:port` into connection errors). */
function reason(cause: unknown): string {
  const text = cause instanceof Error ? cause.message : String(cause);
  return text.replace(/\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b|\[[0-9a-f:]+\](?::\d+)?|\blocalhost:\d+\b/gi, '<addr>').slice(0, 200);
}
