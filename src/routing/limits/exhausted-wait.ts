/**
 * The wait of a request whose targets are all cooling down or at their provider limits:
 * exponential backoff with full jitter (each sleep uniform in [0, base · 2^k], as AWS's
 * "Exponential Backoff and Jitter" recommends, so waiters that met the same reset do not all come
 * back at once), never past the earliest known moment a target frees nor past the bound. After
 * each sleep the request is routed and scanned again, so a target that frees early (a
 * reservation given back, another replica's settlement) ends the wait at the next look.
 */

/** Time, randomness and sleeping, injectable for tests (no timing in assertions). */
export interface WaitClock {
  /** Epoch ms. */
  now(): number;
  /** Uniform in [0, 1). */
  random(): number;
  /** Resolves after `ms`; rejects when `signal` aborts (the caller left). Must not block the event loop. */
  sleep(ms: number, signal: AbortSignal | undefined): Promise<void>;
}

/** First backoff step, ms (the k-th sleep is at most base · 2^k). */
export const BACKOFF_BASE_MS = 50;
/** Shortest sleep, ms: no busy loop when the jitter draws near 0. */
export const MIN_SLEEP_MS = 5;

/**
 * The k-th sleep (k from 0), ms: full jitter over min(maxWaitMs, base · 2^k), at least
 * MIN_SLEEP_MS, at most `freeInMs` (the earliest known free moment) and `remainingMs` (the bound).
 */
export function backoffDelayMs(k: number, freeInMs: number, remainingMs: number, maxWaitMs: number, random: () => number): number {
  const cap = Math.min(maxWaitMs, BACKOFF_BASE_MS * 2 ** Math.min(k, 30));
  const jitter = Math.max(MIN_SLEEP_MS, random() * cap);
  return Math.max(1, Math.ceil(Math.min(jitter, freeInMs, remainingMs)));
}

export interface WaitOutcome<S> {
  /** The last scan: `done(scan)` or not. */
  readonly scan: S;
  /** Time spent waiting, ms. */
  readonly waitedMs: number;
}

/**
 * Waits for `done(scan)`, re-scanning after each backoff sleep, for at most `maxWaitMs` from
 * now. Gives up at once when the earliest known free moment (`scan.freeInMs`) lies past the
 * bound (Infinity: no target ever frees for this request): waiting could not end well, and the
 * caller's retry-after says when to come back. Rejects with the sleep's error when `signal`
 * aborts; holds nothing while it sleeps (a scan that did not choose holds no reservation).
 */
export async function waitForCapacity<S extends { readonly freeInMs: number }>(
  first: S,
  done: (scan: S) => boolean,
  rescan: (nowMs: number) => S | Promise<S>,
  opts: { readonly maxWaitMs: number; readonly clock: WaitClock; readonly signal?: AbortSignal | undefined },
): Promise<WaitOutcome<S>> {
  const { clock, maxWaitMs } = opts;
  const start = clock.now();
  const deadline = start + maxWaitMs;
  let scan = first;
  for (let k = 0; !done(scan); k++) {
    const now = clock.now();
    const remaining = deadline - now;
    if (!(scan.freeInMs <= remaining) || remaining <= 0) return { scan, waitedMs: now - start };
    await clock.sleep(backoffDelayMs(k, scan.freeInMs, remaining, maxWaitMs, clock.random), opts.signal);
    scan = await rescan(clock.now());
  }
  return { scan, waitedMs: clock.now() - start };
}
