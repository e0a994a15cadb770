/** Added by envoy.yaml's local_reply_config to the replies Envoy itself generates. */
export const ENVOY_LOCAL_REPLY_HEADER = 'x-llmx-local-reply';
export const OVERHEAD_HEADER = 'x-gateway-overhead-ms';

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
