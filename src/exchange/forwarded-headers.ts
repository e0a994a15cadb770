import type { RuntimeProvider } from '../config/runtime.ts';
import type { HeaderMap } from '../extproc/types.ts';

/**
 * Which caller request headers reach a provider. An allowlist, like the response side: the
 * provider request is the gateway's request, made with the gateway's key, so a caller header
 * must not pick what that key bills (`openai-organization`, `openai-project`,
 * `x-goog-user-project`), turn on features of the gateway's account (`anthropic-beta`), carry
 * cookies or internal routing and tracing (`x-forwarded-*`, `baggage`), or fingerprint the
 * caller's service (`user-agent`, `x-stainless-*`).
 *
 * Every provider gets: content negotiation (`accept`; `content-type` is the gateway's own after
 * translation) and W3C trace context (`traceparent`, `tracestate`: ids only, so a trace can
 * follow the request through the provider). A provider's `forwardHeaders` in gateway.yaml adds
 * headers for that provider only; they are set per attempt, so after a failover to another
 * provider they are gone.
 */
export const FORWARDED_REQUEST_HEADERS: ReadonlySet<string> = new Set(['accept', 'content-type', 'traceparent', 'tracestate']);

/**
 * Headers the gateway and Envoy manage themselves (framing, the authority, the request id the
 * gateway writes): never removed here. Envoy sets `x-forwarded-proto` itself and will not route
 * a request without it ("no route match"); it says only http or https.
 */
const MANAGED = new Set(['host', 'content-length', 'transfer-encoding', 'x-request-id', 'x-forwarded-proto']);

/** The caller's own `user-agent` is dropped; the provider sees the gateway, which made the request. */
export const GATEWAY_USER_AGENT = 'llm-extproc';

export interface CallerHeaderPolicy {
  /** Caller headers to remove before any attempt (pseudo-headers and managed ones excluded). */
  readonly remove: string[];
  /** The caller's values of headers some provider's `forwardHeaders` lists, re-added per attempt. */
  readonly providerHeaders: Readonly<Record<string, string>>;
}

/**
 * Applied once per request, at the router-level filter's request headers. `providerForwardHeaders`
 * is every provider's `forwardHeaders` together (RuntimeConfig): those are removed too and kept
 * aside, since Envoy shares one header map between attempts.
 */
export function callerHeaderPolicy(h: HeaderMap, providerForwardHeaders: readonly string[]): CallerHeaderPolicy {
  const remove: string[] = [];
  for (const name of h.keys()) {
    if (name.startsWith(':') || MANAGED.has(name) || FORWARDED_REQUEST_HEADERS.has(name)) continue;
    remove.push(name);
  }
  const providerHeaders: Record<string, string> = {};
  for (const name of providerForwardHeaders) {
    const value = h.get(name);
    if (value !== undefined) providerHeaders[name] = value;
  }
  return { remove, providerHeaders };
}

/**
 * For one attempt on `provider`: set the caller headers that provider accepts, remove the ones
 * another provider accepted on a previous attempt. A header the dialect also sets (a list such as
 * `anthropic-beta`) keeps the gateway's value first, then the caller's.
 */
export function providerHeaderChanges(
  providerHeaders: Readonly<Record<string, string>>,
  provider: RuntimeProvider,
  dialectHeaders: Readonly<Record<string, string>>,
): { set: Record<string, string>; remove: string[] } {
  const set: Record<string, string> = {};
  for (const name of provider.forwardHeaders) {
    const value = providerHeaders[name];
    if (value === undefined) continue;
    const own = dialectHeaders[name];
    set[name] = own === undefined ? value : `${own}, ${value}`;
  }
  // Only what the caller sent can be left over from a previous attempt.
  const remove = Object.keys(providerHeaders).filter((name) => !(name in set) && !(name in dialectHeaders));
  return { set, remove };
}
