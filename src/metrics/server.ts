import { createServer, type Server } from 'node:http';
import type { GatewayMetrics } from './metrics.ts';

/**
 * GET /metrics (Prometheus text) and GET /healthz on a separate, loopback-by-default port.
 *
 * /healthz is the liveness and readiness probe of the ext_proc service: 200
 * `{"status":"serving"}` while its gRPC server serves Envoy, 503 `{"status":"not_serving"}`
 * once it is shutting down. A dead service does not answer at all (connection refused), which a
 * probe counts as a failure too. Throws the listen error (EADDRINUSE...) when the port is taken.
 */
export async function startMetricsServer(listen: string, metrics: GatewayMetrics, serving: () => boolean = () => true): Promise<Server | undefined> {
  if (!listen) return undefined;
  const idx = listen.lastIndexOf(':');
  const host = listen.slice(0, idx);
  const port = Number(listen.slice(idx + 1));
  const server = createServer((req, res) => {
    if (req.url === '/metrics') {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    } else if (req.url === '/healthz') {
      const up = serving();
      res.writeHead(up ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: up ? 'serving' : 'not_serving' }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  return server;
}
