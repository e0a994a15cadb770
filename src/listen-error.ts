/** The ext_proc service's own listeners, and the setting that moves each. */
export type ServiceListener = 'extproc' | 'metrics' | 'admin';

const LABEL: Record<ServiceListener, string> = { extproc: 'ext_proc gRPC', metrics: 'metrics', admin: 'admin API' };
const SETTING: Record<ServiceListener, string> = {
  extproc: 'server.listen in the config or --listen',
  metrics: 'server.metricsListen in the config or --metrics-listen',
  admin: 'server.admin.listen in the config or --admin-listen',
};

const REASON: Record<ListenError['code'], string> = {
  EADDRINUSE: 'address already in use',
  EACCES: 'permission denied',
  ENOENT: 'no such directory',
  ENOTDIR: 'not a directory',
};

/** A listener that could not bind: the port is taken (EADDRINUSE), not ours to take (EACCES), or a socket file's directory is missing (ENOENT, ENOTDIR). */
export class ListenError extends Error {
  constructor(
    readonly listener: ServiceListener,
    /** host:port as configured. */
    readonly address: string,
    readonly code: 'EADDRINUSE' | 'EACCES' | 'ENOENT' | 'ENOTDIR',
    /** Says more than the code (a Unix socket file: who holds it). */
    reason?: string,
  ) {
    super(
      `cannot listen on ${address} (${LABEL[listener]}): ${reason ?? REASON[code]}; change ${SETTING[listener]}`,
    );
    this.name = 'ListenError';
  }
}

/** The bind error code in an error from net/http2/grpc-js, when it is one ListenError covers. */
export function bindErrorCode(err: unknown): 'EADDRINUSE' | 'EACCES' | undefined {
  const text = `${(err as NodeJS.ErrnoException | undefined)?.code ?? ''} ${err instanceof Error ? err.message : String(err)}`;
  return /EADDRINUSE/.test(text) ? 'EADDRINUSE' : /EACCES/.test(text) ? 'EACCES' : undefined;
}

/** Reads back which listener a ListenError line (the service's stderr) names. */
export function parseListenError(text: string): { listener: ServiceListener; address: string } | undefined {
  const m = /cannot listen on (\S+) \((ext_proc gRPC|metrics)\)/.exec(text);
  if (!m) return undefined;
  return { listener: m[2] === 'metrics' ? 'metrics' : 'extproc', address: m[1]! };
}
