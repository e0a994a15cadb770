import http from 'node:http';

/** A response read chunk by chunk: what arrived before an error, and how many reads it took. */
export interface RawResult {
  status: number | undefined;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  reads: number;
  error: (Error & { code?: string }) | undefined;
}

/** POST over plain HTTP/1.1 on a fresh connection; never rejects. */
export function rawPost(url: string, body: unknown, headers: Record<string, string> = {}): Promise<RawResult> {
  return new Promise((resolve) => {
    const result: RawResult = { status: undefined, headers: {}, body: Buffer.alloc(0), reads: 0, error: undefined };
    const parts: Buffer[] = [];
    const done = (): void => {
      result.body = Buffer.concat(parts);
      resolve(result);
    };
    const req = http.request(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      result.status = res.statusCode;
      result.headers = res.headers;
      res.on('data', (c: Buffer) => {
        result.reads += 1;
        parts.push(c);
      });
      res.on('error', (err) => {
        result.error = err;
      });
      res.on('close', done);
    });
    req.on('error', (err) => {
      result.error = err;
      done();
    });
    req.end(typeof body === 'string' ? body : JSON.stringify(body));
  });
}
