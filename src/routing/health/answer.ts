import type { Exchange } from '../../exchange/exchange.ts';
import type { AttemptOutcome, AttemptResult } from './outcome.ts';

/** What finishExchange knows when a request ends (src/exchange/finish.ts). */
export interface FinishedRequest {
  readonly ex: Exchange;
  /** completed, failed or aborted (finish.ts `Outcome`). */
  readonly outcome: string;
  /** Whether the input token count is the gateway's estimate (then it is not the provider's figure). */
  readonly inputEstimated: boolean;
}

/**
 * The outcome of the attempt that answered a request, from the request path; undefined when the
 * request path has nothing to say about it. The split with Envoy's upstream log
 * (attempt-log.ts), so that no attempt counts twice:
 * - the request path records provider answers with a **2xx status**: `ok` for a complete
 *   answer (JSON read whole, a stream to its `[DONE]`); for a 2xx that still failed, `error`
 *   (an unreadable or empty body) or what the stream's error event says (its status: 5xx
 *   `error`, 429 `rate_limited`, 408 and 504 `timeout`, other 4xx `client_error`; the 504 also
 *   of a stream the gateway ended for its silence, `timeouts.streamIdleMs`);
 * - the upstream log records every attempt with a status ≥ 300 or a response flag (the
 *   final one included), and a 2xx stream cut by the provider (`UC`, `SI`, …);
 * - neither: a 2xx stream that ended without its terminal event for another reason (the
 *   caller left) says nothing about the target; nor do Envoy's own replies and cache hits.
 *
 * Latency, from the attempt's start (`Attempt.startedAtMs`, monotonic): `totalMs` to now (the
 * end of the answer); for a streamed request, `ttftMs` to the first chunk the gateway forwarded
 * (a stream assembled from a JSON answer has its first chunk at the end: `ttftMs` = `totalMs`).
 * Tokens: the provider's prompt and cached counts, for the cost strategy's cached-input share.
 */
export function answerOutcome(r: FinishedRequest, nowMonoMs: number = performance.now(), nowEpochMs: number = Date.now()): AttemptOutcome | undefined {
  const { ex } = r;
  const attempt = ex.lastAttempt;
  if (attempt === undefined || ex.envoyLocalReply || attempt.status === undefined) return undefined;
  if (attempt.status < 200 || attempt.status >= 300) return undefined;
  let result: AttemptResult | undefined;
  const terminal = ex.translator?.terminal;
  if (ex.translator !== undefined) {
    if (terminal?.kind === 'done') result = 'ok';
    else if (terminal?.kind === 'error') result = resultOfStatus(terminal.error.status);
  } else if (r.outcome === 'completed') {
    result = 'ok';
  } else if (r.outcome === 'failed') {
    // A 2xx the gateway could not use (empty, unreadable): the provider's fault.
    result = 'error';
  }
  if (result === undefined) return undefined;
  const totalMs = Math.max(0, nowMonoMs - attempt.startedAtMs);
  const o: { -readonly [K in keyof AttemptOutcome]: AttemptOutcome[K] } = { key: attempt.key, stream: ex.stream, atMs: nowEpochMs, totalMs, result };
  if (ex.stream) o.ttftMs = attempt.firstChunkAtMs !== undefined ? Math.max(0, attempt.firstChunkAtMs - attempt.startedAtMs) : totalMs;
  if (result === 'ok' && ex.usage !== undefined && !r.inputEstimated) {
    o.promptTokens = ex.usage.promptTokens;
    if (ex.usage.cachedTokens !== undefined) o.cachedTokens = ex.usage.cachedTokens;
  }
  return o;
}

/** An error event's status (the provider's in-stream error, or the gateway's on a broken stream) → result. */
function resultOfStatus(status: number): AttemptResult {
  if (status === 429) return 'rate_limited';
  // 504: a provider's 408/504 as the errors table maps it, and the gateway's event for a stream
  // silent past `timeouts.streamIdleMs` (src/exchange/stream-stall.ts).
  if (status === 408 || status === 504) return 'timeout';
  if (status >= 400 && status < 500 && status !== 401 && status !== 403) return 'client_error';
  return 'error';
}
