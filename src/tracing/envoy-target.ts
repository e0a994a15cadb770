import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/**
 * Where Envoy's OpenTelemetry tracer exports (envoy.yaml's `otel_collector` cluster): `endpoint`
 * given, else the standard $OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else $OTEL_EXPORTER_OTLP_ENDPOINT.
 * Accepts `host:port` or a URL (`http://collector:4317`; the path is ignored: OTLP/gRPC has none).
 * Undefined when none is set or $OTEL_SDK_DISABLED is `true`: tracing stays off.
 * Throws on an endpoint without a host or port, naming it.
 */
export function envoyOtlpTarget(endpoint: string | undefined, env: NodeJS.ProcessEnv): { host: string; port: number } | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  const raw = (endpoint || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT || '').trim();
  if (raw === '') return undefined;
  return parseOtlpEndpoint(raw);
}

/**
 * `host:port` or `http(s)://host[:port][/path]` → host and port (4317, OTLP/gRPC's, when a URL
 * has none). Throws an Error naming `raw` and what is wrong: no scheme and no port (`collector`
 * alone is neither form: a typo more often than a host), a scheme other than http/https, no host,
 * a port outside 1–65535. gateway.yaml's `otlpEndpoint` is checked with it at load, the OTEL_*
 * variables at start, so the ext_proc and Envoy accept the same endpoints.
 */
export function parseOtlpEndpoint(raw: string): { host: string; port: number } {
  const hasScheme = raw.includes('://');
  if (!hasScheme && !/^(\[[0-9A-Fa-f:.]+\]|[^\s:/\[\]]+):\d+$/.test(raw)) {
    throw new Error(`OTLP endpoint "${raw}" is neither host:port nor an http:// or https:// URL`);
  }
  let url: URL;
  try {
    url = new URL(hasScheme ? raw : `http://${raw}`);
  } catch {
    throw new Error(`OTLP endpoint "${raw}" is neither host:port nor an http:// or https:// URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`OTLP endpoint "${raw}": the scheme must be http:// (plaintext) or https:// (TLS), not ${url.protocol}//`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port === '' ? 4317 : Number(url.port);
  if (host === '') throw new Error(`OTLP endpoint "${raw}" has no host`);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`OTLP endpoint "${raw}" has no valid port (1-65535)`);
  return { host, port };
}

/**
 * gateway.yaml's `observability.tracing.otlpEndpoint`, read without validating the rest (the
 * ext_proc validates the file and refuses a bad one with its message): so tracing switched on
 * in gateway.yaml alone switches on Envoy's side too. Undefined when the file cannot be read or
 * parsed, or sets none (or one the ext_proc will refuse).
 */
export function configuredOtlpEndpoint(configFile: string): string | undefined {
  let doc: unknown;
  try {
    doc = parse(readFileSync(configFile, 'utf8'));
  } catch {
    return undefined;
  }
  const endpoint = (doc as { observability?: { tracing?: { otlpEndpoint?: unknown } } } | null)?.observability?.tracing?.otlpEndpoint;
  if (typeof endpoint !== 'string' || endpoint.trim() === '') return undefined;
  try {
    parseOtlpEndpoint(endpoint);
  } catch {
    return undefined; // the ext_proc refuses the file, naming this field
  }
  return endpoint;
}
