import type { TargetKey } from './view.ts';

/**
 * One upstream attempt's outcome, as the gateway reports it to the health layer
 * (`LocalHealth.record`, src/routing/health/local.ts).
 *
 * - `ok`: the provider answered (2xx).
 * - `error`: a provider 5xx (or a broken answer the gateway could not use).
 * - `timeout`: no (first) byte, or no end, within the attempt's timeout.
 * - `reset`: the connection or stream was reset (Envoy's `reset`, `connect-failure`).
 * - `rate_limited`: the provider's 429; cools the target down, never an error for the breaker.
 * - `client_error`: the caller's request was refused (a provider 4xx other than 429): says
 *   nothing about the target, so it never counts against it.
 */
export type AttemptResult = 'ok' | 'error' | 'timeout' | 'reset' | 'rate_limited' | 'client_error';

export interface AttemptOutcome {
  readonly key: TargetKey;
  /** Whether the answer was streamed: streams are judged by time to first token, others by total time. */
  readonly stream: boolean;
  /** Epoch ms when the outcome was known; the health layer's clock for this sample (sub-window, breaker times). */
  readonly atMs: number;
  /** Time to first token (streams), ms from the attempt's start; set for a stream that sent one. */
  readonly ttftMs?: number;
  /** Time from the attempt's start to its end (or to the failure), ms. */
  readonly totalMs?: number;
  readonly result: AttemptResult;
  /** The provider's `retry-after` (or reset header) for a 429, ms. */
  readonly retryAfterMs?: number;
  /** Prompt tokens the provider reported (input, including cache reads). */
  readonly promptTokens?: number;
  /** Of those, tokens read from the provider's prompt cache. */
  readonly cachedTokens?: number;
}

/** Failures of the target itself (5xx, timeouts, resets): the error breaker's numerator. */
export function isTargetError(result: AttemptResult): boolean {
  return result === 'error' || result === 'timeout' || result === 'reset';
}

/**
 * Whether the attempt counts in the error breaker's volume: answers and the target's own
 * failures. A 429 is the provider's quota, handled by the cool-down, and a caller's 4xx says
 * nothing about the target: counting either as a non-error attempt would dilute the error rate.
 */
export function countsAsAttempt(result: AttemptResult): boolean {
  return result === 'ok' || isTargetError(result);
}

/**
 * The latency the breaker and the figures judge, ms: time to first token for a stream, total
 * time otherwise. A stream that failed before its first token has only `totalMs`, a lower
 * bound of its time to first token, used in its place. `undefined` when not measured.
 */
export function judgedLatencyMs(o: AttemptOutcome): number | undefined {
  return o.stream ? (o.ttftMs ?? (o.result === 'ok' ? undefined : o.totalMs)) : o.totalMs;
}
