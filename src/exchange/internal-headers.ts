/**
 * Legacy marker for Envoy's own replies. envoy.yaml no longer adds it (a reply Envoy sends
 * straight to the caller, bypassing the filters, would carry it out); the gateway still
 * recognises and strips it for Envoy configs written before.
 */
export const ENVOY_LOCAL_REPLY_HEADER = 'x-llmx-local-reply';
export const OVERHEAD_HEADER = 'x-gateway-overhead-ms';

/**
 * The Envoy attribute the router-level ext_proc asks for with each response's headers
 * (envoy.yaml: `response_attributes`). Envoy sets it to `via_upstream` for an answer proxied
 * from a provider and to its own reason (`upstream_reset_before_response_started{…}`,
 * `response_timeout`, `stream_idle_timeout`, `http1.codec_error`, …) for a reply it made itself.
 * Source: Envoy's attribute reference (`response.code_details`) and ext_proc's
 * `ProcessingRequest.attributes`, keyed by the filter name.
 */
export const RESPONSE_CODE_DETAILS = 'response.code_details';
const EXT_PROC_ATTRIBUTES = 'envoy.filters.http.ext_proc';
const VIA_UPSTREAM = 'via_upstream';

/** `ProcessingRequest.attributes` as protobufjs decodes it (its bundled google.protobuf.Value names the field `stringValue`). */
export type ExtProcAttributes = Record<string, { fields?: Record<string, { stringValue?: string } | undefined> } | undefined>;

/** `response.code_details` from a message's attributes; undefined when Envoy sent none. */
export function responseCodeDetails(attributes: ExtProcAttributes | undefined): string | undefined {
  const value = attributes?.[EXT_PROC_ATTRIBUTES]?.fields?.[RESPONSE_CODE_DETAILS]?.stringValue;
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * Whether Envoy made this response itself rather than a provider: its code details say so, or
 * (older Envoy configs without `response_attributes`) the legacy marker header is present.
 */
export function isEnvoyReply(details: string | undefined, has: (name: string) => boolean): boolean {
  if (details !== undefined) return details !== VIA_UPSTREAM;
  return has(ENVOY_LOCAL_REPLY_HEADER);
}

/** Caller headers that could steer routing, retries, timeouts or our bookkeeping. */
export function isInternalHeader(name: string): boolean {
  return name.startsWith('x-llmx-') || name.startsWith('x-envoy-');
}

/** Provider auth headers: removed before each attempt adds its own. */
export const PROVIDER_AUTH_HEADERS = ['authorization', 'x-api-key', 'x-goog-api-key', 'api-key', 'anthropic-version'];

/**
 * Response headers a caller may see. Everything else a provider sends (its request ids,
 * rate-limit buckets, organisation, cookies, server names) stays inside. A provider's
 * `retry-after` is not passed as it is: the error mapping (src/errors/upstream-mapping.ts)
 * decides it, on 429/503 only; Envoy's own replies keep theirs (envoy.yaml local_reply_config).
 */
export const RESPONSE_HEADER_ALLOWLIST = new Set([':status', 'content-type', 'date', 'cache-control']);
