import { createServer, type Server as NetServer } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { encodeProcessingResponse } from './encode-response.ts';
import { PROCESS_METHOD_PATH, ProcessingRequestType, ProcessingResponseType } from './protos.ts';
import { NO_RESPONSE } from './messages.ts';
import type { ExtProcRequest, ExtProcResponse } from './types.ts';
import { grpcAddress, parseListenAddress } from './listen-address.ts';
import { claimSocketPath, releaseSocketPath, secureSocketPath } from './unix-socket.ts';

/**
 * One processor per gRPC stream, i.e. per request and filter position. `handle` is called
 * once per message, in order, and returns exactly one response (the protocol's rule);
 * `close` is called exactly once when the stream ends for any reason (done, cancelled, error).
 */
export interface StreamProcessor {
  /**
   * NO_RESPONSE (messages.ts): nothing is sent for this message, allowed only where Envoy expects
   * nothing (a body chunk of a FULL_DUPLEX_STREAMED body after the processor ended that body).
   */
  handle(msg: ExtProcRequest): ExtProcResponse | Promise<ExtProcResponse>;
  close(reason: 'done' | 'cancelled' | 'error'): void;
  /**
   * Called once, before the first message, with a way to send a message nobody asked for: the
   * FULL_DUPLEX_STREAMED body mode lets the processor send body chunks at any time (a stalled
   * stream's error event). Sent after every response already queued, in order.
   */
  attach?(push: (res: ExtProcResponse) => void): void;
}

/** Picks the processor from the stream's gRPC metadata (set per filter in envoy.yaml). */
export type ProcessorFactory = (metadata: grpc.Metadata) => StreamProcessor;

export interface ExtProcServerOptions {
  /**
   * `host:port` or `unix:/abs/path.sock` (listen-address.ts). A socket file is claimed before
   * the bind (a stale one removed, a live one refused: unix-socket.ts), made mode 0660 after it,
   * and removed on stop.
   */
  listen: string;
  maxMessageBytes: number;
  onStreamError?: (err: unknown) => void;
  /** A socket file nobody listened on was removed before the bind (unix: listen only); its path. */
  onStaleSocketRemoved?: (path: string) => void;
  /** Further services on the same server (the access log service); `endStreams` runs first on stop. */
  services?: ReadonlyArray<{ definition: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation; endStreams?(): void }>;
}

const serviceDefinition: grpc.ServiceDefinition = {
  Process: {
    path: PROCESS_METHOD_PATH,
    requestStream: true,
    responseStream: true,
    requestSerialize: (v: unknown) => Buffer.from(ProcessingRequestType.encode(v as object).finish()),
    requestDeserialize: (b: Buffer) => ProcessingRequestType.decode(b),
    responseSerialize: (v: unknown) => encodeProcessingResponse(v as ExtProcResponse),
    responseDeserialize: (b: Buffer) => ProcessingResponseType.decode(b),
  },
};

/**
 * Ends a stream with gRPC status INTERNAL. (destroy() would leave Envoy waiting out its
 * message_timeout; an emitted error becomes a status and ends the call at once.)
 */
function endWithStatus(call: grpc.ServerDuplexStream<ExtProcRequest, ExtProcResponse>, err: unknown): void {
  const details = err instanceof Error ? err.message : String(err);
  call.emit('error', { code: grpc.status.INTERNAL, details: `ext_proc processing failed: ${details}` });
}

export class ExtProcServer {
  private readonly server: grpc.Server;
  private boundPort = 0;
  /** Our own TCP listener (tcp: listen only), its connections handed to grpc-js. */
  private tcp: NetServer | undefined;
  /** The socket file bound and its identity (unix: listen only). */
  private socketFile: { path: string; id: string } | undefined;

  constructor(
    private readonly factory: ProcessorFactory,
    private readonly opts: ExtProcServerOptions,
  ) {
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': opts.maxMessageBytes,
      'grpc.max_send_message_length': opts.maxMessageBytes,
      // Envoy keeps one HTTP/2 connection and multiplexes every stream on it.
      'grpc.max_concurrent_streams': 100_000,
      'grpc.keepalive_permit_without_calls': 1,
    });
    this.server.addService(serviceDefinition, { Process: (call: grpc.ServerDuplexStream<ExtProcRequest, ExtProcResponse>) => this.serve(call) });
    for (const svc of opts.services ?? []) this.server.addService(svc.definition, svc.implementation);
  }

  get port(): number {
    return this.boundPort;
  }

  /**
   * Binds the listen address; resolves the TCP port (0 on a socket). Rejects with
   * ListenAddressError (a malformed address), SocketPathError (a socket file in use or not ours),
   * Node's listen error (EADDRINUSE, EACCES) on TCP, or grpc-js's bind error on a socket.
   */
  async start(): Promise<number> {
    const addr = parseListenAddress(this.opts.listen, 'server.listen');
    if (addr.kind === 'tcp') {
      this.boundPort = await this.listenTcp(addr.host, addr.port);
      return this.boundPort;
    }
    if ((await claimSocketPath(addr.path)) === 'removed-stale') this.opts.onStaleSocketRemoved?.(addr.path);
    await new Promise<void>((resolve, reject) => {
      this.server.bindAsync(grpcAddress(addr), grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve()));
    });
    // Between bind and chmod the file has the umask's mode; keep the socket's directory private for that instant.
    this.socketFile = { path: addr.path, id: secureSocketPath(addr.path) };
    this.boundPort = 0;
    return this.boundPort;
  }

  /**
   * TCP with Nagle's algorithm off. grpc-js's own bind leaves Node's default (`noDelay: false`) on
   * the server's sockets, so an answer written while the previous one is still unacknowledged
   * can wait for Envoy's delayed ACK (up to 40 ms on Linux). Envoy and the
   * grpc-js client set TCP_NODELAY on their side; this sets it on ours. The connections go to
   * grpc-js through its public connection injector, so everything past accept() is unchanged.
   * Resolves the bound port; rejects with the listen error (EADDRINUSE, EACCES).
   */
  private async listenTcp(host: string, port: number): Promise<number> {
    const injector = this.server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    const tcp = createServer({ noDelay: true }, (socket) => injector.injectConnection(socket));
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen({ host, port }, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
    this.tcp = tcp;
    return (tcp.address() as { port: number }).port;
  }

  async stop(graceMs = 5000): Promise<void> {
    // No new connections; grpc-js's shutdown below ends the ones it was handed.
    this.tcp?.close();
    this.tcp = undefined;
    // Long-lived streams (Envoy's access log) would otherwise hold a graceful shutdown for graceMs.
    for (const svc of this.opts.services ?? []) svc.endStreams?.();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    if (this.socketFile) {
      releaseSocketPath(this.socketFile.path, this.socketFile.id);
      this.socketFile = undefined;
    }
  }

  private serve(call: grpc.ServerDuplexStream<ExtProcRequest, ExtProcResponse>): void {
    let processor: StreamProcessor;
    try {
      processor = this.factory(call.metadata);
    } catch (err) {
      this.opts.onStreamError?.(err);
      endWithStatus(call, err);
      return;
    }
    let closed = false;
    const close = (reason: 'done' | 'cancelled' | 'error'): void => {
      if (closed) return;
      closed = true;
      processor.close(reason);
    };
    // Messages are answered strictly in order; async handlers chain on `tail`.
    let tail: Promise<void> | undefined;
    const respond = (res: ExtProcResponse): void => {
      if (!closed && res !== NO_RESPONSE) call.write(res);
    };
    const fail = (err: unknown): void => {
      this.opts.onStreamError?.(err);
      close('error');
      endWithStatus(call, err);
    };
    processor.attach?.((res) => {
      if (tail) tail = tail.then(() => respond(res)).catch(fail);
      else respond(res);
    });
    call.on('data', (msg: ExtProcRequest) => {
      if (tail) {
        tail = tail.then(async () => respond(await processor.handle(msg))).catch(fail);
        return;
      }
      try {
        const out = processor.handle(msg);
        if (out instanceof Promise) tail = out.then(respond).catch(fail);
        else respond(out);
      } catch (err) {
        fail(err);
      }
    });
    call.on('end', () => {
      const finish = (): void => {
        close('done');
        call.end();
      };
      if (tail) void tail.then(finish, finish);
      else finish();
    });
    call.on('cancelled', () => close('cancelled'));
    call.on('error', () => close('error'));
  }
}
