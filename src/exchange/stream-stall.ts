import { UpstreamError, type GatewayError } from '../errors/gateway-error.ts';
import { toOpenAIErrorEvent } from '../errors/to-openai.ts';

/**
 * A stream whose provider went silent (gateway.yaml `models.<name>.timeouts.streamIdleMs`).
 *
 * The router-level ext_proc takes such a model's streams in Envoy's FULL_DUPLEX_STREAMED body
 * mode, where it may send the caller body bytes at any time, not only in answer to a chunk. One
 * timer per stream, pushed back by every chunk from the provider; when it fires, the caller's
 * stream ends with {@link stalledStreamEvent} (the request is settled `aborted`,
 * `upstream_timeout`, with the tokens so far) and Envoy resets the silent upstream request.
 */

/**
 * The caller's error for a stalled stream, as the errors table words a provider that did not
 * answer in time (README, "Errors from providers"): 504 `timeout_error`, `upstream_timeout`, the
 * gateway's words (they name no provider). `idleMs`: the silence that ended it, ms.
 */
export function stalledStreamError(idleMs: number): GatewayError {
  const s = idleMs % 1000 === 0 ? `${idleMs / 1000} s` : `${idleMs} ms`;
  return new UpstreamError(504, 'timeout_error', `The model provider stopped sending the stream (nothing for ${s}); the answer is incomplete.`, {
    code: 'upstream_timeout',
  });
}

/**
 * The OpenAI chat stream's error event for `err`: `data: {"error":{message,type,param,code}}` and
 * the blank line, no `[DONE]` after it (what OpenAI sends for an error mid-stream; the `openai`
 * SDKs raise it as an APIError). The gateway's callers speak OpenAI chat completions only.
 */
export function stalledStreamEvent(err: GatewayError): string {
  return toOpenAIErrorEvent(err);
}

/**
 * One stream's silence timer: `onIdle` runs once when `idleMs` have passed since the last
 * `touch()`, unless `stop()` came first. A chunk costs one clock read: the timer is not reset per
 * chunk but, when it fires early (chunks came meanwhile), set again for the rest of the silence,
 * so a stream that keeps talking re-arms it about once per `idleMs`. Unref'd: it never holds the
 * process open.
 */
export class StreamIdleTimer {
  private timer: NodeJS.Timeout | undefined;
  private lastMs = 0;

  constructor(
    /** ms of silence before `onIdle`. */
    readonly idleMs: number,
    private readonly onIdle: () => void,
    /** Monotonic clock, ms (tests pass their own). */
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Starts the timer, or pushes the deadline back to `idleMs` from now. */
  touch(): void {
    this.lastMs = this.now();
    if (!this.timer) this.arm(this.idleMs);
  }

  /** Whether the timer is running. */
  get armed(): boolean {
    return this.timer !== undefined;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(this.fire, ms);
    this.timer.unref();
  }

  private readonly fire = (): void => {
    const silentMs = this.now() - this.lastMs;
    if (silentMs < this.idleMs) {
      this.arm(this.idleMs - silentMs);
      return;
    }
    this.timer = undefined;
    this.onIdle();
  };
}
