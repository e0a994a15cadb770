import { parseRetryAfter } from '../../lib/retry-after.ts';
import type { AttemptResult } from './outcome.ts';

/**
 * One failed upstream attempt as Envoy's router `upstream_log` reports it (envoy.yaml, log_name
 * `llm_upstream_attempts`; decoded in src/extproc/access-log-service.ts), and what it means
 * for the target's health. Envoy sends only failed attempts (status ≥ 300 or any response
 * flag): a successful answer is recorded by the request path (answer.ts).
 */
export interface UpstreamAttemptEntry {
  /** x-request-id: the gateway's id of the request. */
  readonly requestId: string | undefined;
  /** x-envoy-attempt-count when the attempt ran (1-based); undefined when absent or not a number. */
  readonly attemptNumber: number | undefined;
  /** The Envoy cluster of this attempt (= a provider's `cluster`). */
  readonly cluster: string;
  /** The provider's HTTP status; 0 when none came (reset, timeout). */
  readonly status: number;
  /** Envoy's response flags by their short names (`UT`, `UC`, `SI`, …). */
  readonly flags: readonly string[];
  /** Epoch ms when the attempt started (Envoy's `start_time`); undefined when not sent. */
  readonly startMs: number | undefined;
  /** How long the attempt lasted, ms (Envoy's `duration`); undefined when not sent. */
  readonly durationMs: number | undefined;
  /** The logged response headers (lower-case names): retry-after and the providers' reset headers. */
  readonly headers: Readonly<Record<string, string>>;
}

/** What an entry says about the target; undefined when it says nothing about it. */
export interface AttemptJudgement {
  readonly result: AttemptResult;
  /** For `rate_limited`: how long the provider asked to wait, ms (retryAfterMs). */
  readonly retryAfterMs?: number;
}

/** Flags that are not the provider's doing: the caller left or reset its stream. */
const DOWNSTREAM_FLAGS = new Set(['DC', 'DR']);
/** No (first) byte, or a stall, within the attempt's timeout (per_try_timeout, per_try_idle_timeout, max stream duration). */
const TIMEOUT_FLAGS = new Set(['UT', 'SI', 'UMSDR']);
/** The provider's connection or stream failed: reset, refused, terminated, broken protocol. */
const RESET_FLAGS = new Set(['UC', 'UR', 'UF', 'UPE']);

/**
 * Judges one failed attempt (Envoy 1.40's flags, checked against the real binary:
 * /tmp/s4/h5-findings.md §1):
 * - a downstream flag (`DC`, `DR`): nothing; the caller left, the provider did no wrong;
 * - `UT`, `SI`, `UMSDR`: `timeout` (also `SI` on a 200: a stream that stalled after its first byte);
 * - `UC`, `UR`, `UF`, `UPE`: `reset` (also on a 200: a stream cut by the provider);
 * - 429: `rate_limited`, with the wait from `retry-after-ms`, `retry-after` or the provider's reset headers (rateLimitWaitMs);
 * - 5xx and 3xx: `error`; 408: `timeout`;
 * - 401 and 403: `error`. The provider refused the gateway's own key (or its account): every
 *   request to that target fails the same way until an operator fixes it, so the target should
 *   leave the plan like a failing one, not be excused as the caller's fault;
 * - any other 4xx (400, 404, 413, 422, …): `client_error`, the request's content, which says nothing about the target;
 * - anything else (a 2xx with only `URX`, Envoy's own `UO`/`UH`/`NC`/`LR`): nothing.
 * A route's total timeout that cuts a started stream sends no upstream entry at all (the
 * attempt ends 200 without a flag; the HCM entry has `UT`), so it never counts against the provider.
 */
export function judgeAttempt(e: UpstreamAttemptEntry, nowMs: number = Date.now()): AttemptJudgement | undefined {
  const flags = e.flags;
  if (flags.some((f) => DOWNSTREAM_FLAGS.has(f))) return undefined;
  if (flags.some((f) => TIMEOUT_FLAGS.has(f))) return { result: 'timeout' };
  if (flags.some((f) => RESET_FLAGS.has(f))) return { result: 'reset' };
  const s = e.status;
  if (s === 429) {
    const wait = rateLimitWaitMs(e.headers, nowMs);
    return wait === undefined ? { result: 'rate_limited' } : { result: 'rate_limited', retryAfterMs: wait };
  }
  if (s >= 500 || (s >= 300 && s < 400)) return { result: 'error' };
  if (s === 401 || s === 403) return { result: 'error' };
  if (s === 408) return { result: 'timeout' };
  if (s >= 400 && s < 500) return { result: 'client_error' };
  return undefined;
}

/** The providers' reset headers, in the order they are read after `retry-after-ms` and `retry-after`. */
export const RESET_HEADERS = [
  'x-ratelimit-reset-requests',
  'x-ratelimit-reset-tokens',
  'anthropic-ratelimit-requests-reset',
  'anthropic-ratelimit-tokens-reset',
  'anthropic-ratelimit-input-tokens-reset',
  'anthropic-ratelimit-output-tokens-reset',
] as const;

/**
 * How long a 429 asks to wait, ms: `retry-after-ms` (ms, the most precise; the official OpenAI
 * and Anthropic SDKs read it before `retry-after`: /work/shared/wire/README.md O1 and A5,
 * `src/client.ts`), else `retry-after` (seconds or an HTTP date, RFC 9110 §10.2.3);
 * else the longest of the providers' reset headers present (OpenAI's
 * `x-ratelimit-reset-*`, a Go duration like `1s`, `6m0s`, `20ms`; Anthropic's
 * `anthropic-ratelimit-*-reset`, an RFC 3339 time). The longest, because the entry does not say
 * which limit was hit, and coming back before the right one resets only earns another 429.
 * undefined when nothing readable was sent (the cool-down then doubles from its own base).
 */
export function rateLimitWaitMs(headers: Readonly<Record<string, string>>, nowMs: number = Date.now()): number | undefined {
  const retryAfterMs = parseRetryAfterMs(headers['retry-after-ms']);
  if (retryAfterMs !== undefined) return retryAfterMs;
  const retryAfter = parseRetryAfter(headers['retry-after'], nowMs);
  if (retryAfter !== undefined) return retryAfter * 1000;
  let longest: number | undefined;
  for (const name of RESET_HEADERS) {
    const v = headers[name];
    if (v === undefined) continue;
    const ms = name.startsWith('anthropic-') ? untilRfc3339Ms(v, nowMs) : goDurationMs(v);
    if (ms !== undefined && (longest === undefined || ms > longest)) longest = ms;
  }
  return longest;
}

/** `retry-after-ms`: a non-negative number of ms (fractions allowed, rounded up); undefined when it is not one. */
export function parseRetryAfterMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (!/^\d+(\.\d+)?$/.test(v)) return undefined;
  const ms = Math.ceil(Number(v));
  return Number.isSafeInteger(ms) ? ms : undefined;
}

const DURATION_UNIT_MS: Readonly<Record<string, number>> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, 'µs': 0.001, ns: 0.000001 };

/**
 * A Go duration string (`time.Duration.String()`, as OpenAI's `x-ratelimit-reset-*` send it:
 * `1s`, `6m0s`, `1h2m3.5s`, `120ms`) → ms, rounded up; undefined when it is not one.
 */
export function goDurationMs(value: string): number | undefined {
  const v = value.trim();
  if (v === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/gy;
  let total = 0;
  let end = 0;
  for (let m = re.exec(v); m !== null; m = re.exec(v)) {
    total += Number(m[1]) * DURATION_UNIT_MS[m[2]!]!;
    end = re.lastIndex;
  }
  if (end === 0 || end !== v.length) return undefined;
  return Math.ceil(total);
}

/** An RFC 3339 time (`2026-11-30T12:00:05Z`) → ms from `nowMs` until then (0 when past); undefined when unreadable. */
export function untilRfc3339Ms(value: string, nowMs: number): number | undefined {
  const v = value.trim();
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}
