import type { EnvoyReply } from '../extproc/access-log-service.ts';
import { clientRequestId } from './client-request-id.ts';
import type { Exchange } from './exchange.ts';
import { finishExchange, recordStatelessRequest, type ExchangeSinks, type Outcome, type TokenEstimates } from './finish.ts';

/**
 * Reconciles the ext_proc's view of how a request ended with Envoy's (its gRPC access log,
 * src/extproc/access-log-service.ts), so that the request log line and `gateway_requests_total`
 * say what the caller really got:
 *
 * - A request whose ext_proc stream ended before its response was settled (`aborted`: no
 *   `[DONE]` or error event, the buffered body never came) is held by request id for up to
 *   `holdMs` (default 2 s, well above envoy.yaml's 0.1 s `buffer_flush_interval`). Envoy's entry
 *   then gives the status the caller got (Envoy's 503/504 after a provider's 200 head → `failed`
 *   with that status and the local reply's code; a 200 head whose body was cut → `aborted` with
 *   why: `upstream_reset`, `upstream_timeout`, `client_closed`). No entry in time: logged as
 *   before. Certain outcomes are logged at once: the normal path waits for nothing.
 * - An entry for a request the ext_proc never saw (Envoy refused it while reading it: HTTP/1.0,
 *   431, bad framing, the ext_proc unreachable) gets its own `rejected` line, provider `envoy`,
 *   with the x-request-id the caller got, after `graceMs` (the entry may beat the ext_proc's
 *   close for a request it did see).
 * - An entry for a request already logged is ignored (ids are remembered `rememberMs`, at most
 *   `maxTracked` of them).
 */
export interface EnvoyOutcomesOptions {
  /** ms an uncertain exchange waits for Envoy's entry. */
  holdMs?: number;
  /** ms an entry for an unknown id waits for its exchange before it is logged as Envoy's own refusal. */
  graceMs?: number;
  /** ms a logged request's id is remembered, so that a late entry for it is ignored. */
  rememberMs?: number;
  /** Most held exchanges, waiting entries and remembered ids, each (beyond it: logged as they are, oldest forgotten). */
  maxTracked?: number;
  /** Whether the ext_proc still has this request in flight (its close has not come yet). */
  inFlight?: (id: string) => boolean;
}

/** Where a held line goes once settled: the exchange sinks, without another outcomes hop. */
export type OutcomeSinks = Omit<ExchangeSinks, 'outcomes'>;

interface Held {
  ex: Exchange;
  estimated: TokenEstimates | undefined;
  timer: NodeJS.Timeout;
  /** When the ext_proc stream closed (process.hrtime): the line's latency ends there, not after the wait. */
  endedAt: bigint;
}

interface Waiting {
  reply: EnvoyReply;
  ids: string[];
  timer: NodeJS.Timeout;
  /** When the entry arrived (ms, performance.now()). */
  since: number;
}

/** Flags of a failed or unreachable upstream, as envoy.yaml's local_reply_config groups them for `upstream_unavailable`. */
const UPSTREAM_UNAVAILABLE = new Set(['UF', 'URX', 'UR', 'UPE', 'UO', 'NR', 'UH', 'UC', 'UMSDR', 'NC']);

/** The error code local_reply_config gave the caller for an error status Envoy sent itself (same order as its mappers). */
export function envoyReplyErrorCode(status: number, flags: readonly string[]): string {
  if (status === 413) return 'request_too_large';
  if (flags.includes('UT')) return 'upstream_timeout';
  if (flags.some((f) => UPSTREAM_UNAVAILABLE.has(f))) return 'upstream_unavailable';
  switch (status) {
    case 503:
      return 'gateway_unavailable';
    case 504:
      return 'gateway_timeout';
    case 408:
      return 'request_timeout';
    case 431:
      return 'request_headers_too_large';
    case 426:
      return 'http_version_not_supported';
    case 403:
      return 'upgrade_not_supported';
    case 501:
      return 'unsupported_transfer_encoding';
    case 400:
      return 'invalid_http_request';
    default:
      return status >= 500 ? 'gateway_error' : 'invalid_request';
  }
}

/** Why a response that had begun (200 head sent) was cut, from Envoy's flags. */
export function cutStreamErrorCode(flags: readonly string[]): string {
  if (flags.includes('UT')) return 'upstream_timeout';
  if (flags.some((f) => f === 'UR' || f === 'UC' || f === 'UPE' || f === 'UF')) return 'upstream_reset';
  if (flags.includes('DC') || flags.includes('DR')) return 'client_closed';
  if (flags.includes('SI')) return 'stream_idle_timeout';
  return 'stream_reset';
}

export class EnvoyOutcomes {
  private readonly held = new Map<string, Held>();
  private readonly waiting = new Map<string, Waiting>();
  /** Logged request ids → when to forget them (ms); insertion order is expiry order. */
  private readonly finished = new Map<string, number>();
  private readonly holdMs: number;
  private readonly graceMs: number;
  private readonly rememberMs: number;
  private readonly maxTracked: number;
  private readonly inFlight: (id: string) => boolean;
  private closed = false;

  constructor(
    private readonly sinks: OutcomeSinks,
    opts: EnvoyOutcomesOptions = {},
  ) {
    this.holdMs = opts.holdMs ?? 2000;
    this.graceMs = opts.graceMs ?? 500;
    this.rememberMs = opts.rememberMs ?? 30_000;
    this.maxTracked = opts.maxTracked ?? 100_000;
    this.inFlight = opts.inFlight ?? (() => false);
  }

  /** Exchanges waiting for Envoy's entry, and entries waiting for their exchange (for tests and health). */
  get pending(): { held: number; waiting: number } {
    return { held: this.held.size, waiting: new Set(this.waiting.values()).size };
  }

  /** An exchange whose line waits for Envoy's entry, by request id (its attempts' targets stay findable for the upstream log). */
  heldExchange(id: string): Exchange | undefined {
    return this.held.get(id)?.ex;
  }

  /**
   * Logs the exchange: at once when its outcome is certain, else (`aborted`) once Envoy's entry
   * says what the caller got, or after `holdMs`.
   */
  settle(ex: Exchange, outcome: Outcome, estimated?: TokenEstimates): void {
    const waiting = this.waiting.get(ex.id);
    if (outcome !== 'aborted' || this.closed) {
      if (waiting) this.dropWaiting(waiting);
      this.finish(ex, outcome, estimated);
      return;
    }
    if (waiting) {
      this.dropWaiting(waiting);
      this.finish(ex, this.apply(ex, waiting.reply), estimated);
      return;
    }
    if (this.held.size >= this.maxTracked) {
      this.finish(ex, outcome, estimated);
      return;
    }
    const endedAt = process.hrtime.bigint();
    const timer = setTimeout(() => {
      this.held.delete(ex.id);
      this.finish(ex, outcome, estimated, endedAt);
    }, this.holdMs).unref();
    this.held.set(ex.id, { ex, estimated, timer, endedAt });
  }

  /** A request the ext_proc logged itself (e.g. refused at its headers): Envoy's entry for it, if any, is ignored. */
  noteFinished(id: string): void {
    const waiting = this.waiting.get(id);
    if (waiting) this.dropWaiting(waiting);
    this.remember(id);
  }

  /** One entry from Envoy's access log. */
  onReply(reply: EnvoyReply): void {
    if (this.closed) return;
    const ids = [reply.requestRequestId, reply.responseRequestId].filter((id, i, all): id is string => id !== undefined && all.indexOf(id) === i);
    for (const id of ids) {
      const held = this.held.get(id);
      if (held) {
        clearTimeout(held.timer);
        this.held.delete(id);
        this.finish(held.ex, this.apply(held.ex, reply), held.estimated, held.endedAt);
        return;
      }
    }
    if (ids.some((id) => this.finished.has(id))) return;
    // The caller's connection ended before any reply and no request the ext_proc knows: nothing to log.
    if (reply.status === 0 && !ids.some((id) => this.inFlight(id))) return;
    if (ids.length === 0 || this.waiting.size >= this.maxTracked) {
      this.recordRefused(reply);
      return;
    }
    const w: Waiting = { reply, ids, since: performance.now(), timer: setTimeout(() => this.expireWaiting(w), this.graceMs).unref() };
    for (const id of ids) this.waiting.set(id, w);
  }

  /** Shutdown: everything still pending is logged as it is; no timer outlives this. */
  close(): void {
    this.closed = true;
    for (const h of this.held.values()) {
      clearTimeout(h.timer);
      finishExchange(h.ex, 'aborted', this.sinks, h.estimated, h.endedAt);
    }
    this.held.clear();
    for (const w of new Set(this.waiting.values())) {
      clearTimeout(w.timer);
      this.recordRefused(w.reply);
    }
    this.waiting.clear();
    this.finished.clear();
  }

  private finish(ex: Exchange, outcome: Outcome, estimated: TokenEstimates | undefined, endedAt?: bigint): void {
    finishExchange(ex, outcome, this.sinks, estimated, endedAt);
    this.remember(ex.id);
  }

  /** What the caller got, per Envoy: its error status (`failed`), or a begun response cut short (`aborted`). */
  private apply(ex: Exchange, reply: EnvoyReply): Outcome {
    if (reply.status >= 400) {
      ex.status = reply.status;
      ex.errorCode = envoyReplyErrorCode(reply.status, reply.flags);
      return 'failed';
    }
    if (reply.status > 0) ex.status = reply.status;
    ex.errorCode = cutStreamErrorCode(reply.flags);
    return 'aborted';
  }

  private expireWaiting(w: Waiting): void {
    // Its request is still in flight at the ext_proc: its close will come, wait for it (bounded).
    if (w.ids.some((id) => this.inFlight(id)) && performance.now() - w.since < this.holdMs) {
      w.timer = setTimeout(() => this.expireWaiting(w), this.graceMs).unref();
      return;
    }
    this.dropWaiting(w);
    this.recordRefused(w.reply);
  }

  private dropWaiting(w: Waiting): void {
    clearTimeout(w.timer);
    for (const id of w.ids) if (this.waiting.get(id) === w) this.waiting.delete(id);
  }

  /** A reply Envoy made for a request the ext_proc never saw: one `rejected` line, provider `envoy`. */
  private recordRefused(reply: EnvoyReply): void {
    const requestId = reply.responseRequestId ?? reply.requestRequestId;
    recordStatelessRequest(
      {
        method: reply.method,
        path: reply.path.slice(0, 256),
        clientRequestId: clientRequestId(reply.requestRequestId),
        ...(requestId !== undefined ? { requestId } : {}),
        provider: 'envoy',
      },
      { status: reply.status, code: reply.status >= 400 ? envoyReplyErrorCode(reply.status, reply.flags) : cutStreamErrorCode(reply.flags) },
      this.sinks,
    );
    if (requestId !== undefined) this.remember(requestId);
  }

  private remember(id: string): void {
    const now = performance.now();
    this.finished.delete(id);
    this.finished.set(id, now + this.rememberMs);
    // Oldest first: forget what expired, and the oldest beyond the bound.
    for (const [old, expiry] of this.finished) {
      if (expiry > now && this.finished.size <= this.maxTracked) break;
      this.finished.delete(old);
    }
  }
}
