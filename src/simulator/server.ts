import { createServer, type Server } from 'node:http';
import { createSecureServer, type Http2SecureServer, type ServerHttp2Session } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { createProvider } from './providers/registry.ts';
import { FaultSource } from './transport/fault-source.ts';
import { createHandler } from './transport/handler.ts';
import type { ReceivedRequest, SimProvider, SimProviderOptions } from './types.ts';

/** Longer than Envoy's usual upstream idle handling, so pooled connections are not cut mid-reuse. */
const KEEP_ALIVE_MS = 300_000;

function listen(server: Server | Http2SecureServer, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** Starts a simulated provider; resolves once it listens. */
export async function startSimProvider(opts: SimProviderOptions): Promise<SimProvider> {
  const provider = createProvider(opts.format, opts.basePath);
  const faults = new FaultSource(opts.defaultFault);
  const requests: ReceivedRequest[] = [];
  const abort = new AbortController();
  const handler = createHandler({
    provider,
    faults,
    apiKey: opts.apiKey,
    requests: opts.recordRequests === false ? undefined : requests,
    wait: (ms) => delay(ms, undefined, { signal: abort.signal }),
  });
  let server: Server | Http2SecureServer;
  if (opts.tls === undefined) {
    const h1 = createServer({ keepAliveTimeout: KEEP_ALIVE_MS }, handler);
    server = h1;
  } else {
    server = createSecureServer({ cert: opts.tls.cert, key: opts.tls.key, allowHTTP1: true, minVersion: 'TLSv1.2' }, handler);
  }
  const sockets = new Set<Socket>();
  const sessions = new Set<ServerHttp2Session>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  server.on('session', (s: ServerHttp2Session) => {
    sessions.add(s);
    s.once('close', () => sessions.delete(s));
  });
  const host = opts.host ?? '127.0.0.1';
  const address = await listen(server, opts.port ?? 0, host);
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const url = `${opts.tls === undefined ? 'http' : 'https'}://${urlHost}:${address.port}`;
  let closing: Promise<void> | undefined;
  return {
    url,
    port: address.port,
    requests,
    enqueueFault: (f) => faults.enqueue(f),
    setDefaultFault: (f) => faults.setDefault(f),
    reset() {
      faults.reset();
      requests.length = 0;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        // Aborting wakes every delayed response, which resets its own stream (RST_STREAM on h2);
        // one turn later the remaining connections are torn down.
        abort.abort();
        server.close(() => resolve());
        setImmediate(() => {
          for (const s of sessions) s.destroy();
          for (const s of sockets) s.destroy();
        });
      });
      return closing;
    },
  };
}
