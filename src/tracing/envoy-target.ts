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

/** `host:port` or `scheme://host:port[/path]` → host and port (4317, OTLP/gRPC's, when a URL has none). */
export function parseOtlpEndpoint(raw: string): { host: string; port: number } {
  let url: URL;
  try {
    url = new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch {
    throw new Error(`OTLP endpoint "${raw}" is neither host:port nor a URL`);
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port === '' ? 4317 : Number(url.port);
  if (host === '' || !Number.isInteger(port) || port <= 0) throw new Error(`OTLP endpoint "${raw}" has no host or port`);
  return { host, port };
}
