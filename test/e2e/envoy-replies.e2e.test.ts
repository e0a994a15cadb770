import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { authHeaders, hello, startTestStack, type TestStack } from '../support/e2e.ts';

/**
 * Replies Envoy makes itself (issue 12 items 3 and 6): every one carries its status, an OpenAI
 * error body and an x-request-id, and no internal header. Through the real Envoy, with raw
 * sockets for what an HTTP client would refuse to send. The template is envoy/envoy.yaml with
 * shorter request_timeout, request_headers_timeout and message_timeout, so stalled requests
 * and the stuck ext_proc are cut in seconds instead of minutes.
 */
const PROJECT = path.resolve(import.meta.dirname, '../..');
const REQUEST_TIMEOUT_S = 2;
let gw: TestStack;
let port: number;

before(async () => {
  const template = readFileSync(path.join(PROJECT, 'envoy/envoy.yaml'), 'utf8');
  const shortened = template
    .replace(/request_timeout: \d+s/, `request_timeout: ${REQUEST_TIMEOUT_S}s`)
    .replace(/request_headers_timeout: \d+s/, 'request_headers_timeout: 1s')
    .replace(/message_timeout: \d+s/g, 'message_timeout: 1s');
  assert.notEqual(shortened, template, 'envoy.yaml still sets request_timeout');
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'llmx-envoy-')), 'envoy.yaml');
  writeFileSync(file, shortened);
  gw = await startTestStack({ envoyTemplate: file });
  port = Number(new URL(gw.httpUrl).port);
});
after(async () => {
  await gw?.dispose();
});

interface RawReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends bytes on a fresh connection, optionally more pieces later; reads one response until Envoy closes or its body is complete. */
function rawRequest(first: string | Buffer, more: Array<{ afterMs: number; bytes: string }> = []): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timers: NodeJS.Timeout[] = [];
    const guard = setTimeout(() => finish(new Error('no complete reply within 15 s')), 15_000);
    let done = false;
    const parse = (): RawReply | undefined => {
      const all = Buffer.concat(chunks).toString('latin1');
      const end = all.indexOf('\r\n\r\n');
      if (end === -1) return undefined;
      const [statusLine, ...lines] = all.slice(0, end).split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      const body = all.slice(end + 4);
      const length = headers['content-length'];
      if (length === undefined || Buffer.byteLength(body, 'latin1') < Number(length)) return undefined;
      return { status: Number(statusLine!.split(' ')[1]), headers, body: body.slice(0, Number(length)) };
    };
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(guard);
      for (const t of timers) clearTimeout(t);
      sock.destroy();
      const reply = parse();
      if (reply) resolve(reply);
      else reject(err ?? new Error(`incomplete reply: ${JSON.stringify(Buffer.concat(chunks).toString('latin1').slice(0, 300))}`));
    };
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      if (parse()) finish();
    });
    sock.on('close', () => finish());
    sock.on('error', (e) => finish(e));
    sock.write(first);
    let at = 0;
    for (const m of more) {
      at += m.afterMs;
      timers.push(setTimeout(() => !done && sock.write(m.bytes), at));
    }
  });
}

const BODY = JSON.stringify({ model: 'gpt-4o-mini', messages: hello });

function post(extraHeaderLines: string[], opts: { version?: string; host?: boolean; body?: string } = {}): string {
  const body = opts.body ?? BODY;
  return [
    `POST /v1/chat/completions ${opts.version ?? 'HTTP/1.1'}`,
    ...(opts.host === false ? [] : ['Host: gateway.test']),
    `Authorization: Bearer ${gw.demoKey}`,
    'Content-Type: application/json',
    ...extraHeaderLines,
    '',
    body,
  ].join('\r\n');
}

const withLength = (body = BODY): string[] => [`Content-Length: ${Buffer.byteLength(body)}`];

/** What every reply Envoy makes must be. */
function assertEnvoyReply(reply: { status: number; headers: Record<string, string>; body: string }, status: number, code: string, type = 'invalid_request_error'): void {
  assert.equal(reply.status, status, reply.body);
  assert.match(reply.headers['content-type'] ?? '', /^application\/json/);
  const json = JSON.parse(reply.body) as { error?: Record<string, unknown> };
  assert.ok(json.error, reply.body);
  assert.deepEqual(Object.keys(json.error).sort(), ['code', 'message', 'param', 'type']);
  assert.deepEqual([json.error.type, json.error.code, json.error.param], [type, code, null]);
  assert.ok(reply.headers['x-request-id'], 'every reply has an x-request-id');
  assertNoInternalHeaders(reply.headers);
}

function assertNoInternalHeaders(headers: Record<string, string>): void {
  for (const name of Object.keys(headers)) assert.ok(!/^x-(llmx|envoy)-/.test(name), `internal header reached the caller: ${name}`);
}

function headersOf(res: Response): Record<string, string> {
  return Object.fromEntries([...res.headers.entries()]);
}


describe('requests Envoy refuses while reading them: its status, an OpenAI error body, an x-request-id', () => {
  const cases: Array<{ name: string; bytes: () => string; status: number; code: string }> = [
    { name: 'HTTP/1.0', bytes: () => post(withLength(), { version: 'HTTP/1.0' }), status: 426, code: 'http_version_not_supported' },
    { name: 'a header name with an underscore', bytes: () => post(['x_foo: 1', ...withLength()]), status: 400, code: 'invalid_http_request' },
    { name: 'headers over 96 KB', bytes: () => post([`X-Pad: ${'a'.repeat(99_328)}`, ...withLength()]), status: 431, code: 'request_headers_too_large' },
    { name: 'more than 100 headers', bytes: () => post([...Array.from({ length: 120 }, (_, i) => `x-h${i}: ${i}`), ...withLength()]), status: 431, code: 'request_headers_too_large' },
    { name: 'no Host header', bytes: () => post(withLength(), { host: false }), status: 400, code: 'invalid_http_request' },
    { name: 'a control character in a header value', bytes: () => post(['x-bad: a\x01b', ...withLength()]), status: 400, code: 'invalid_http_request' },
    { name: 'a content-length that is not a number', bytes: () => post(['Content-Length: 12abc']), status: 400, code: 'invalid_http_request' },
    { name: 'both content-length and transfer-encoding', bytes: () => post(['Transfer-Encoding: chunked', ...withLength()]), status: 400, code: 'invalid_http_request' },
    { name: 'an unknown transfer-encoding', bytes: () => post(['Transfer-Encoding: gzip']), status: 501, code: 'unsupported_transfer_encoding' },
    { name: 'Upgrade: websocket', bytes: () => post(['Connection: Upgrade', 'Upgrade: websocket', ...withLength()]), status: 403, code: 'upgrade_not_supported' },
  ];
  for (const c of cases) {
    test(`${c.name}: ${c.status}`, async () => {
      const reply = await rawRequest(c.bytes());
      assertEnvoyReply(reply, c.status, c.code);
    });
  }

  test('the gateway keeps serving afterwards (official SDK)', async () => {
    const answer = await gw.client().chat.completions.create({ model: 'gpt-4o-mini', messages: hello });
    assert.ok(answer.choices[0]?.message.content);
  });
});

describe('a request whose body stalls is cut', () => {
  test(`a body that never completes: 408 with an OpenAI error body after request_timeout, and the log line says 408`, async () => {
    const head = post([`Content-Length: ${Buffer.byteLength(BODY) + 10}`]);
    const reply = await rawRequest(head);
    assertEnvoyReply(reply, 408, 'request_timeout');
    const line = await gw.requestLog(reply.headers['x-request-id']!);
    assert.deepEqual([line['status'], line['outcome'], line['error_code']], [408, 'failed', 'request_timeout']);
  });

  test('headers that never complete: 408 with an OpenAI error body after request_headers_timeout', async () => {
    const reply = await rawRequest(`POST /v1/chat/completions HTTP/1.1\r\nHost: gateway.test\r\nAuthorization: Bearer ${gw.demoKey}\r\n`);
    assertEnvoyReply(reply, 408, 'request_timeout');
  });

  test('a body that arrives slowly but keeps coming, within request_timeout, is served', async () => {
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(200_000) }] });
    const pieces = 5;
    const size = Math.ceil(body.length / pieces);
    const head = post([`Content-Length: ${Buffer.byteLength(body)}`], { body: body.slice(0, size) });
    const rest = Array.from({ length: pieces - 1 }, (_, i) => ({ afterMs: 250, bytes: body.slice((i + 1) * size, (i + 2) * size) }));
    const reply = await rawRequest(head, rest);
    assert.equal(reply.status, 200, reply.body);
    assert.equal((JSON.parse(reply.body) as { object: string }).object, 'chat.completion');
    assert.ok(reply.headers['x-request-id']);
    assertNoInternalHeaders(reply.headers);
  });
});

describe('the ext_proc does not answer in time', () => {
  test("Envoy's 504 after message_timeout has an OpenAI error body and an x-request-id", async () => {
    const child = gw.extproc.process;
    child.kill('SIGSTOP');
    let res: Response;
    try {
      res = await gw.raw('/v1/chat/completions', { method: 'POST', headers: authHeaders(gw), body: BODY });
    } finally {
      child.kill('SIGCONT');
    }
    const body = await res.text();
    assertEnvoyReply({ status: res.status, headers: headersOf(res), body }, 504, 'gateway_timeout', 'server_error');
  });
});

describe('an upstream reset right after the provider’s 200 head', () => {
  test('whatever Envoy makes of it (its 503, or a cut 200), no internal header and an x-request-id; a 503 is an OpenAI error', async () => {
    for (let i = 0; i < 30; i++) {
      const model = ['claude-sonnet-4-5', 'gpt-4o-mini', 'gemini-2.5-flash'][i % 3]!;
      const fault = i % 2 === 0 ? { resetAfterEvents: 0 } : { resetAfterEvents: 3, chunks: 8 };
      const res = await gw.raw('/v1/chat/completions', {
        method: 'POST',
        headers: authHeaders(gw, { 'x-sim-fault': JSON.stringify(fault) }),
        body: JSON.stringify({ model, stream: true, messages: hello }),
      });
      const headers = headersOf(res);
      assertNoInternalHeaders(headers);
      assert.ok(headers['x-request-id'], `reply ${res.status} without x-request-id`);
      const body = await res.text().catch(() => '');
      // Which of the two happens is a race inside Envoy (README: Envoy's own replies); both must be clean.
      if (res.status === 503) {
        assertEnvoyReply({ status: res.status, headers, body }, 503, 'upstream_unavailable', 'service_unavailable_error');
        assert.equal(headers['retry-after'], '1');
      } else {
        assert.equal(res.status, 200);
      }
    }
  });

  test('a provider that resets before any header: 503 with the gateway id, the same id and status in the log', async () => {
    const res = await gw.raw('/v1/chat/completions', {
      method: 'POST',
      headers: authHeaders(gw, { 'x-sim-fault': JSON.stringify({ resetBeforeHeaders: true }) }),
      body: JSON.stringify({ model: 'claude-sonnet-4-5', messages: hello }),
    });
    const headers = headersOf(res);
    assertEnvoyReply({ status: res.status, headers, body: await res.text() }, 503, 'upstream_unavailable', 'service_unavailable_error');
    const line = await gw.requestLog(headers['x-request-id']!);
    assert.deepEqual([line['status'], line['provider'], line['outcome']], [503, 'envoy', 'failed']);
  });
});
