import { z } from 'zod';
import { strictObject } from '../config/strict-object.ts';

/**
 * gateway.yaml `models.<name>.timeouts:`, per model, ms:
 *
 * ```yaml
 * timeouts:
 *   firstByteMs: 5000    # an attempt whose response headers have not come by then is abandoned for the next target
 *   totalMs: 120000      # the whole request, every attempt and a stream's last byte included
 *   streamIdleMs: 15000  # a stream silent this long once it began is ended with an error event
 * ```
 *
 * They reach Envoy as request headers the router-level ext_proc sets with the plan
 * (`x-envoy-upstream-rq-per-try-timeout-ms`, `x-envoy-upstream-rq-timeout-ms`; verified with
 * Envoy 1.40 in the issue 9 research: honoured from the filter, and a caller's copies are removed
 * at the request headers, forwarded-headers.ts). `firstByteMs` is Envoy's per-try timeout,
 * which covers only the wait for the provider's response headers: a stream cannot fail over
 * once its headers reached the caller. `totalMs` is the route timeout and cuts a stream that
 * outlives it. `streamIdleMs` stays in the gateway: the router-level ext_proc takes such a
 * model's streams in Envoy's FULL_DUPLEX_STREAMED body mode and, when the provider goes silent
 * that long, ends the caller's stream with an OpenAI error event (src/exchange/stream-stall.ts).
 */

/** envoy.yaml's route `timeout` (test/routing/upstream-timeouts.test.ts checks it against the file), ms. */
export const ENVOY_ROUTE_TIMEOUT_MS = 300_000;
/**
 * envoy.yaml's `retry_policy.per_try_idle_timeout`, ms: it also ends an attempt that has sent
 * nothing yet, so a first-byte timeout at or above it would never fire.
 */
export const ENVOY_PER_TRY_IDLE_TIMEOUT_MS = 60_000;

export const PER_TRY_TIMEOUT_HEADER = 'x-envoy-upstream-rq-per-try-timeout-ms';
export const TOTAL_TIMEOUT_HEADER = 'x-envoy-upstream-rq-timeout-ms';

const wholeMs = (what: string) => z.number({ error: `${what}: a number of milliseconds` }).int(`${what}: whole milliseconds`).min(1, `${what}: at least 1 ms`);

export const upstreamTimeoutsSchema = strictObject({
  /** Time to the provider's response headers, per attempt, ms (< 60,000: envoy.yaml's per_try_idle_timeout). */
  firstByteMs: wholeMs('firstByteMs')
    .max(
      ENVOY_PER_TRY_IDLE_TIMEOUT_MS - 1,
      `firstByteMs: below ${ENVOY_PER_TRY_IDLE_TIMEOUT_MS} ms, since envoy.yaml's per_try_idle_timeout (${ENVOY_PER_TRY_IDLE_TIMEOUT_MS / 1000} s) already abandons an attempt that has sent nothing for that long`,
    )
    .optional(),
  /** The whole request over every attempt, ms (≤ 300,000: envoy.yaml's route timeout). */
  totalMs: wholeMs('totalMs')
    .max(
      ENVOY_ROUTE_TIMEOUT_MS,
      `totalMs: at most ${ENVOY_ROUTE_TIMEOUT_MS} ms, envoy.yaml's route timeout (${ENVOY_ROUTE_TIMEOUT_MS / 1000} s), which the budget reservations' lifetime and stream settlement are sized for`,
    )
    .optional(),
  /**
   * Longest silence of a stream once its first body bytes came, ms (< 60,000: envoy.yaml's
   * per_try_idle_timeout, which would otherwise cut the caller's connection first).
   */
  streamIdleMs: wholeMs('streamIdleMs')
    .max(
      ENVOY_PER_TRY_IDLE_TIMEOUT_MS - 1,
      `streamIdleMs: below ${ENVOY_PER_TRY_IDLE_TIMEOUT_MS} ms, since envoy.yaml's per_try_idle_timeout (${ENVOY_PER_TRY_IDLE_TIMEOUT_MS / 1000} s) resets a silent stream's connection first`,
    )
    .optional(),
}).superRefine((t, ctx) => {
  if (t.streamIdleMs !== undefined && t.totalMs !== undefined && t.streamIdleMs >= t.totalMs) {
    ctx.addIssue({
      code: 'custom',
      path: ['streamIdleMs'],
      message: `streamIdleMs (${t.streamIdleMs} ms) must be below totalMs (${t.totalMs} ms): the route timeout would end the request first`,
    });
  }
  if (t.firstByteMs !== undefined && t.totalMs !== undefined && t.firstByteMs >= t.totalMs) {
    ctx.addIssue({
      code: 'custom',
      path: ['firstByteMs'],
      message: `firstByteMs (${t.firstByteMs} ms) must be below totalMs (${t.totalMs} ms): Envoy ignores a per-try timeout that is not below the request's total`,
    });
  }
});
export type UpstreamTimeouts = z.infer<typeof upstreamTimeoutsSchema>;

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** The Envoy request headers for `t`, built once per model at config load (frozen; empty when neither is set). */
export function timeoutHeaders(t: UpstreamTimeouts): Readonly<Record<string, string>> {
  if (t.firstByteMs === undefined && t.totalMs === undefined) return NO_HEADERS;
  const h: Record<string, string> = {};
  if (t.firstByteMs !== undefined) h[PER_TRY_TIMEOUT_HEADER] = String(t.firstByteMs);
  if (t.totalMs !== undefined) h[TOTAL_TIMEOUT_HEADER] = String(t.totalMs);
  return Object.freeze(h);
}
