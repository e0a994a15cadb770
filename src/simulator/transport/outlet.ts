import type { IncomingMessage, ServerResponse } from 'node:http';
import { constants, Http2ServerResponse, type Http2ServerRequest } from 'node:http2';

/** Incoming request from either the HTTP/1.1 server or the HTTP/2 compatibility API. */
export type SimRequest = IncomingMessage | Http2ServerRequest;
/** Response object from either server. */
export type SimResponse = ServerResponse | Http2ServerResponse;

/** The few response operations the simulator needs, the same over HTTP/1.1 and HTTP/2. */
export interface Outlet {
  head(status: number, headers: Record<string, string>): void;
  /** Sends the head now (streams announce 200 before their first event). */
  flushHeaders(): void;
  /** Resolves once the chunk is handed to the socket, or when the response closed. */
  write(chunk: string | Uint8Array): Promise<void>;
  end(chunk?: string | Uint8Array): void;
  /** HTTP/1.1: destroy the connection; HTTP/2: RST_STREAM with `code` (default INTERNAL_ERROR). */
  reset(code?: number): void;
  readonly headersSent: boolean;
  readonly closed: boolean;
}

/** Wraps a response; the h1 and h2 objects differ only in how they reset. */
export function createOutlet(req: SimRequest, res: SimResponse): Outlet {
  let closed = false;
  res.once('close', () => {
    closed = true;
  });
  const write = (chunk: string | Uint8Array): Promise<void> =>
    new Promise((resolve) => {
      if (closed) return resolve();
      const onClose = (): void => resolve();
      res.once('close', onClose);
      const done = (): void => {
        res.off('close', onClose);
        resolve();
      };
      if (res instanceof Http2ServerResponse) res.write(chunk, done);
      else res.write(chunk, done);
    });
  return {
    head(status, headers) {
      res.writeHead(status, headers);
    },
    flushHeaders() {
      if (!(res instanceof Http2ServerResponse)) return res.flushHeaders();
      // Present at runtime since Node 8.4 but missing from @types/node.
      const flush: unknown = Reflect.get(res, 'flushHeaders');
      if (typeof flush === 'function') flush.call(res);
    },
    write,
    end(chunk) {
      if (res instanceof Http2ServerResponse) {
        if (chunk === undefined) res.end();
        else res.end(chunk);
      } else if (chunk === undefined) res.end();
      else res.end(chunk);
    },
    reset(code = constants.NGHTTP2_INTERNAL_ERROR) {
      closed = true;
      if (res instanceof Http2ServerResponse) res.stream.close(code);
      else req.socket.destroy();
    },
    get headersSent() {
      return res.headersSent;
    },
    get closed() {
      return closed;
    },
  };
}
