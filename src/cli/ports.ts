import { createServer } from 'node:net';

/** A free loopback TCP port, never one this process handed out before (bound and released: another process may still take it first, a small window on a test box). Throws after 20 tries. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  // The OS may hand a just-released port out again; two listeners given the same port and
  // started together (the benchmark starts its gateways side by side) then collide. Never give
  // one port twice in a process (the set is trimmed once large: by then the first are long bound).
  for (let i = 0; i < 20; i++) {
    const port = await anyFreePort(host);
    if (handedOut.has(port)) continue;
    if (handedOut.size >= 4096) handedOut.clear();
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port on ${host} that this process has not handed out already`);
}

const handedOut = new Set<number>();

function anyFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** The ports a stack listens on, by what they serve. */
export type ListenerName = 'http' | 'https' | 'admin' | 'extproc' | 'metrics' | 'adminApi';

export const LISTENER_LABELS: Readonly<Record<ListenerName, string>> = {
  http: 'plaintext listener',
  https: 'TLS listener',
  admin: 'Envoy admin',
  extproc: 'ext_proc gRPC',
  metrics: 'metrics',
  adminApi: 'admin key API',
};

/** A port someone else holds (EADDRINUSE) or may not be bound by this user (EACCES). */
export class PortInUseError extends Error {
  constructor(
    readonly listener: ListenerName,
    readonly host: string,
    readonly port: number,
    readonly reason: 'in use' | 'not permitted' = 'in use',
  ) {
    super(`port ${port} on ${host} (${LISTENER_LABELS[listener]}) is ${reason === 'in use' ? 'already in use' : 'not permitted for this user'}`);
    this.name = 'PortInUseError';
  }
}

/**
 * Binds each port exclusively (no SO_REUSEPORT) and releases it, so a port another process
 * holds fails here, before anything is started; throws PortInUseError for the first one.
 * Envoy's listeners would otherwise share a port that another Envoy holds with SO_REUSEPORT.
 */
export async function assertPortsFree(claims: ReadonlyArray<{ listener: ListenerName; host: string; port: number }>): Promise<void> {
  for (const c of claims) {
    await new Promise<void>((resolve, reject) => {
      const srv = createServer();
      srv.unref();
      srv.once('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'EADDRINUSE') reject(new PortInUseError(c.listener, c.host, c.port));
        else if (err.code === 'EACCES') reject(new PortInUseError(c.listener, c.host, c.port, 'not permitted'));
        else reject(err);
      });
      srv.listen({ port: c.port, host: c.host, exclusive: true }, () => srv.close(() => resolve()));
    });
  }
}

/** The port in Envoy's bind failure ("cannot bind '127.0.0.1:8080': Address already in use"), if any. */
export function envoyBindFailurePort(envoyOutput: string): number | undefined {
  const m = /cannot bind '[^']*:(\d+)': Address already in use/i.exec(envoyOutput) ?? /:(\d+)[^\n]*address already in use/i.exec(envoyOutput);
  return m ? Number(m[1]) : undefined;
}
