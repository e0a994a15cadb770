import type { RecordedResponse } from './leak-scan.ts';

/** What one e2e stack received through fetch: responses from its listeners and the credentials sent. */
export interface Recorder {
  /** URL prefixes (the stack's public listeners) whose responses are recorded. */
  readonly prefixes: string[];
  readonly responses: RecordedResponse[];
  /** Every credential a test sent to those listeners (Authorization, x-api-key, x-goog-api-key, api-key, ?key=). */
  readonly credentials: Set<string>;
}

const active = new Set<Recorder>();
let installed = false;

function urlOf(input: RequestInfo | URL): string {
  if (typeof input === 'string') return input;
  if (input instanceof URL) return input.href;
  return input.url;
}

function noteCredentials(r: Recorder, url: string, input: RequestInfo | URL, init?: RequestInit): void {
  const h = new Headers(typeof input === 'object' && 'headers' in input ? input.headers : undefined);
  new Headers(init?.headers).forEach((v, k) => h.set(k, v));
  const auth = h.get('authorization');
  if (auth) r.credentials.add(auth.replace(/^\S+\s+/, '').trim());
  for (const name of ['x-api-key', 'x-goog-api-key', 'api-key']) {
    const v = h.get(name);
    if (v) r.credentials.add(v.trim());
  }
  const key = new URL(url).searchParams.get('key');
  if (key) r.credentials.add(key);
}

/**
 * Wraps a fetch so responses from a recorded prefix are copied as the caller reads them: same
 * status, headers and bytes, pulled one chunk at a time (a stream stays a stream, backpressure
 * intact). Only the bytes the test read are recorded.
 */
export function recordingFetch(inner: typeof fetch): typeof fetch {
  return async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = urlOf(input);
    const recorders = [...active].filter((r) => r.prefixes.some((p) => url.startsWith(p)));
    if (recorders.length === 0) return inner(input, init);
    for (const r of recorders) noteCredentials(r, url, input, init);
    const res = await inner(input, init);
    const rec: RecordedResponse = { url, status: res.status, headers: [...res.headers], body: '' };
    for (const r of recorders) r.responses.push(rec);
    if (!res.body) return res;
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    const body = new ReadableStream<Uint8Array>(
      {
        async pull(c) {
          try {
            const { done, value } = await reader.read();
            if (done) {
              rec.body += decoder.decode();
              c.close();
              return;
            }
            rec.body += decoder.decode(value, { stream: true });
            c.enqueue(value);
          } catch (err) {
            c.error(err);
          }
        },
        cancel: (reason) => reader.cancel(reason),
      },
      { highWaterMark: 0 },
    );
    const copy = new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
    Object.defineProperty(copy, 'url', { value: res.url });
    return copy;
  };
}

/** Starts recording responses from these prefixes; the global fetch is wrapped once per process. */
export function startRecording(prefixes: string[]): Recorder {
  if (!installed) {
    globalThis.fetch = recordingFetch(globalThis.fetch.bind(globalThis));
    installed = true;
  }
  const r: Recorder = { prefixes, responses: [], credentials: new Set() };
  active.add(r);
  return r;
}

export function stopRecording(r: Recorder): void {
  active.delete(r);
}
