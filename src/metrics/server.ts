import { createServer, type Server } from 'node:http';
import type { GatewayMetrics } from './metrics.ts';

/** GET /metrics (Prometheus text) and GET /healthz on a separate, loopback-by-default port. */
export async function startMetricsServer(listen: string, metrics: GatewayMetrics): Promise<Server | undefined> {
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
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  return server;
}
