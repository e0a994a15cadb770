import http2 from 'node:http2';
import { Duplex } from 'node:stream';
import tls from 'node:tls';

/** HTTP/2 frame types (RFC 9113 §6), by their code. */
const FRAME_TYPES = ['DATA', 'HEADERS', 'PRIORITY', 'RST_STREAM', 'SETTINGS', 'PUSH_PROMISE', 'PING', 'GOAWAY', 'WINDOW_UPDATE', 'CONTINUATION'] as const;
const END_STREAM = 0x1;

/** One frame the server sent on a stream, as it was on the wire (after TLS). */
export interface WireFrame {
  type: string;
  /** Payload length, bytes. */
  length: number;
  endStream: boolean;
  /** RST_STREAM only: its error code (RFC 9113 §7; 0 NO_ERROR, 2 INTERNAL_ERROR, …). */
  errorCode?: number;
  /** Which TLS read (socket `data` event) of the connection carried it, from 0. */
  read: number;
}

/** What a caller got on one stream: Node's view (status, headers, body) and the frames under it. */
export interface H2Reply {
  /** `:status`, or undefined when no HEADERS arrived. */
  status: number | undefined;
  headers: Record<string, string>;
  /** The DATA bytes, UTF-8. */
  body: string;
  /** The stream's RST_STREAM code as Node reports it (0 after a clean END_STREAM). */
  rstCode: number | undefined;
  /** Every frame the server sent on this stream, in order. */
  frames: WireFrame[];
}

/**
 * An HTTP/2 client over TLS that also records every frame the server sends, per stream, by
 * reading the decrypted bytes before Node's HTTP/2 session does (Node exposes no frame events;
 * `rstCode` alone cannot tell "HEADERS, then RST_STREAM" from "RST_STREAM only"). One TLS
 * connection per client; `close()` ends it.
 */
export class H2FrameClient {
  readonly #frames = new Map<number, WireFrame[]>();
  readonly #session: http2.ClientHttp2Session;
  readonly #socket: tls.TLSSocket;

  /** `url`: the gateway's https:// origin; `ca`: the PEM it is signed with. */
  constructor(url: string, ca: string | Buffer) {
    const u = new URL(url);
    this.#socket = tls.connect({ host: u.hostname === 'localhost' ? '127.0.0.1' : u.hostname, port: Number(u.port), servername: 'localhost', ca, ALPNProtocols: ['h2'] });
    const socket = this.#socket;
    let pending: Buffer = Buffer.alloc(0);
    let reads = 0;
    const tap = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        socket.write(chunk, cb);
      },
      final(cb) {
        socket.end();
        cb();
      },
      destroy(err, cb) {
        socket.destroy();
        cb(err);
      },
    });
    socket.on('data', (d: Buffer) => {
      const read = reads++;
      pending = pending.length === 0 ? d : Buffer.concat([pending, d]);
      // A frame: 3 bytes length, 1 type, 1 flags, 4 stream id (RFC 9113 §4.1), then the payload.
      while (pending.length >= 9) {
        const length = pending.readUIntBE(0, 3);
        if (pending.length < 9 + length) break;
        const stream = pending.readUInt32BE(5) & 0x7fffffff;
        if (stream !== 0) {
          const type = FRAME_TYPES[pending[3]!] ?? `type ${pending[3]}`;
          const frame: WireFrame = { type, length, endStream: (pending[4]! & END_STREAM) !== 0 && (type === 'DATA' || type === 'HEADERS'), read };
          if (type === 'RST_STREAM') frame.errorCode = pending.readUInt32BE(9);
          const list = this.#frames.get(stream) ?? [];
          list.push(frame);
          this.#frames.set(stream, list);
        }
        pending = pending.subarray(9 + length);
      }
      tap.push(d);
    });
    socket.on('end', () => tap.push(null));
    socket.on('error', (err) => tap.destroy(err));
    this.#session = http2.connect(url, { createConnection: () => tap });
    this.#session.on('error', () => undefined);
  }

  /** Sends one request (`body` as is) and resolves when its stream closes, however it closes. */
  request(headers: Record<string, string>, body: string): Promise<H2Reply> {
    return new Promise((resolve) => {
      const reply: H2Reply = { status: undefined, headers: {}, body: '', rstCode: undefined, frames: [] };
      const req = this.#session.request(headers);
      req.setEncoding('utf8');
      req.on('response', (h) => {
        reply.status = Number(h[':status']);
        for (const [k, v] of Object.entries(h)) if (!k.startsWith(':') && v !== undefined) reply.headers[k] = Array.isArray(v) ? v.join(', ') : String(v);
      });
      req.on('data', (c: string) => (reply.body += c));
      req.on('error', () => undefined);
      req.on('close', () => {
        reply.rstCode = req.rstCode;
        // The frames that closed the stream were parsed before Node saw them.
        reply.frames = req.id === undefined ? [] : (this.#frames.get(req.id) ?? []);
        if (req.id !== undefined) this.#frames.delete(req.id);
        resolve(reply);
      });
      req.end(body);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#session.close(() => resolve());
      this.#socket.end();
    });
  }
}
