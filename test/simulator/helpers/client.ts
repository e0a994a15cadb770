import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import path from 'node:path';
import { TLSSocket } from 'node:tls';
import { generate } from 'selfsigned';

/** Recorded provider fixtures (test/fixtures/wire). */
export const WIRE = path.resolve(import.meta.dirname, '../../fixtures/wire');

/** Reads a wire fixture as text. */
export function fixture(rel: string): string {
  return readFileSync(path.join(WIRE, rel), 'utf8');
}

/** A throwaway self-signed certificate for 127.0.0.1 / localhost. */
export async function makeCert(): Promise<{ cert: string; key: string }> {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** A response read to the end. */
export interface Got {
  status: number;
  headers: Record<string, string>;
  text: string;
}

/** POST JSON with fetch (plain HTTP). */
export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Got> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: Object.fromEntries(res.headers), text: await res.text() };
}

/** POST JSON over HTTPS/1.1 (ALPN http/1.1 only) trusting `ca`. */
export function postHttps1(url: string, body: unknown, ca: string, headers: Record<string, string> = {}): Promise<Got & { alpn: string | false | null }> {
  return new Promise((resolve, reject) => {
    const agent = new https.Agent({ ca, ALPNProtocols: ['http/1.1'], keepAlive: false });
    const req = https.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      const alpn = res.socket instanceof TLSSocket ? res.socket.alpnProtocol : false;
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const flat: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : v;
        resolve({ status: res.statusCode ?? 0, headers: flat, text: Buffer.concat(chunks).toString('utf8'), alpn });
      });
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** Outcome of an HTTP/2 request: the response, or the stream error it ended with (and bytes seen so far). */
export interface H2Result {
  status: number | undefined;
  headers: Record<string, string>;
  text: string;
  error: (Error & { code?: string }) | undefined;
}

/** POST JSON over HTTP/2 on a fresh session trusting `ca`; never rejects, reports errors instead. */
export function postH2(url: string, body: unknown, ca: string, headers: Record<string, string> = {}): Promise<H2Result> {
  return new Promise((resolve) => {
    const u = new URL(url);
    const session = http2.connect(u.origin, { ca });
    session.on('error', () => undefined);
    const result: H2Result = { status: undefined, headers: {}, text: '', error: undefined };
    const req = session.request({ ':method': 'POST', ':path': `${u.pathname}${u.search}`, 'content-type': 'application/json', ...headers });
    req.setEncoding('utf8');
    req.on('response', (h) => {
      result.status = Number(h[':status']);
      for (const [k, v] of Object.entries(h)) if (!k.startsWith(':') && v !== undefined) result.headers[k] = Array.isArray(v) ? v.join(', ') : String(v);
    });
    req.on('data', (c: string) => {
      result.text += c;
    });
    const finish = (): void => {
      session.close();
      resolve(result);
    };
    req.on('error', (err: Error & { code?: string }) => {
      result.error = err;
    });
    req.on('close', finish);
    req.end(JSON.stringify(body));
  });
}

/** Splits an SSE body into events on `sep`; asserts nothing, the caller checks the remainder. */
export function sseEvents(text: string, sep: string): { events: string[]; rest: string } {
  const parts = text.split(sep);
  const rest = parts.pop() ?? '';
  return { events: parts, rest };
}

/** Parses the `data:` line of every event (skipping `[DONE]`). */
export function dataOf(events: readonly string[]): unknown[] {
  const out: unknown[] = [];
  for (const e of events) {
    const line = e.split(/\r?\n/).find((l) => l.startsWith('data: '));
    if (line === undefined || line === 'data: [DONE]') continue;
    out.push(JSON.parse(line.slice(6)));
  }
  return out;
}

/** Structural shape of a JSON value: keys in order with their value shapes; arrays by first element. */
export function shape(v: unknown): unknown {
  if (v === null) return 'null';
  if (Array.isArray(v)) return v.length === 0 ? [] : [shape(v[0])];
  if (typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x)]));
  return typeof v;
}
