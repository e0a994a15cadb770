import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import OpenAI from 'openai';
import { hello, startTestStack, type TestStack } from '../support/e2e.ts';

/**
 * Issue 12 item 6, the log's last gap: the request log line records the status the caller got,
 * also when Envoy answered the caller itself past the ext_proc (a provider reset or stall after
 * its 200 head) or refused the request while reading it (HTTP/1.0, oversized headers). The
 * ext_proc learns those replies from Envoy's gRPC access log (envoy.yaml `access_log`).
 *
 * Envoy's per_try_idle_timeout is shortened (a rendered copy of envoy/envoy.yaml) so the stall
 * case takes seconds.
 */

const PROJECT = path.resolve(import.meta.dirname, '../..');
const IDLE_TIMEOUT_S = 1;
const STALL_MS = 2_500;

let templateDir: string;
let gw: TestStack;
let client: OpenAI;
let seq = 0;

function shortIdleTemplate(): string {
  const text = readFileSync(path.join(PROJECT, 'envoy/envoy.yaml'), 'utf8');
  assert.match(text, /per_try_idle_timeout: \d+s/, 'envoy/envoy.yaml no longer has per_try_idle_timeout: update this test');
  templateDir = mkdtempSync(path.join(tmpdir(), 'llmx-envoy-outcomes-'));
  const file = path.join(templateDir, 'envoy.yaml');
  writeFileSync(file, text.replace(/per_try_idle_timeout: \d+s/g, `per_try_idle_timeout: ${IDLE_TIMEOUT_S}s`));
  return file;
}

before(async () => {
  gw = await startTestStack({ envoyTemplate: shortIdleTemplate() });
  client = new OpenAI({ apiKey: gw.demoKey, baseURL: `${gw.httpUrl}/v1`, maxRetries: 0, timeout: 15_000 });
});
after(async () => {
  await gw?.dispose();
  if (templateDir) rmSync(templateDir, { recursive: true, force: true });
});
beforeEach(() => {
  for (const sim of Object.values(gw.sims)) sim.reset();
});

/** Entries Envoy's gRPC access logger has sent (its admin stats). */
async function alsEntriesWritten(): Promise<number> {
  const text = await (await fetch(`${gw.adminUrl}/stats?filter=access_logs\\.grpc_access_log\\.logs_written`)).text();
  return [...text.matchAll(/logs_written: (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
}

function clientId(): string {
  return `envoy-outcomes-${process.pid}-${++seq}`;
}

/** A non-stream call that must fail with an OpenAI error; the error. */
async function failingCall(model: string, id: string): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    await client.chat.completions.create({ model, messages: hello }, { headers: { 'x-request-id': id } });
  } catch (err) {
    assert.ok(err instanceof OpenAI.APIError, `an OpenAI error: ${String(err)}`);
    return err;
  }
  assert.fail('the call succeeded');
}

const requests = (labels: Record<string, string>): Promise<number> => gw.metric('gateway_requests_total', labels);

describe("Envoy's replies after a provider's 200 head: the log line has the caller's status", () => {
  test('normal requests (JSON, a stream) are logged at once, and Envoy sends nothing to reconcile', async () => {
    const before = await alsEntriesWritten();
    const id = clientId();
    const res = await client.chat.completions.create({ model: 'claude-sonnet-4-5', messages: hello }, { headers: { 'x-request-id': id } });
    assert.ok(res.choices[0]?.message.content);
    const line = await gw.requestLog(id, 'client_request_id');
    assert.equal(line['outcome'], 'completed');
    assert.equal(line['status'], 200);
    const streamed = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: hello, stream: true });
    for await (const _ of streamed) {
      // read to the end, as callers do
    }
    // Nor for a reply the gateway made itself (details `llm_extproc_*`): the ext_proc logged it already.
    await failingCall('no-such-model-envoy-outcomes', clientId());
    assert.equal(await alsEntriesWritten(), before, 'no access log entry for a provider answer or a gateway reply');
  });

  test('reset right after the head (non-stream): Envoy 503 → logged 503, failed, its code', async () => {
    const labels = { model: 'claude-sonnet-4-5', status: '503', outcome: 'failed' };
    const before = await requests(labels);
    const alsBefore = await alsEntriesWritten();
    gw.sims['anthropic']!.enqueueFault({ resetAfterBytes: 40 });
    const id = clientId();
    const err = await failingCall('claude-sonnet-4-5', id);
    assert.equal(err.status, 503);
    assert.equal(err.code, 'upstream_unavailable');
    const line = await gw.requestLog(id, 'client_request_id');
    assert.equal(line['request_id'], err.headers?.get('x-request-id'), "the line is the reply's");
    assert.equal(line['status'], 503);
    assert.equal(line['outcome'], 'failed');
    assert.equal(line['error_code'], 'upstream_unavailable');
    assert.equal(line['provider'], 'anthropic', 'the provider that reset');
    assert.ok((await alsEntriesWritten()) > alsBefore, "Envoy's access log sent this reply");
    assert.equal(await requests(labels), before + 1, 'gateway_requests_total agrees');
  });

  test('stall after the head (non-stream): Envoy 504 → logged 504, failed, upstream_timeout', async () => {
    const labels = { model: 'gemini-2.5-flash', status: '504', outcome: 'failed' };
    const before = await requests(labels);
    gw.sims['gemini']!.enqueueFault({ stallAfterBytes: 40, stallMs: STALL_MS });
    const id = clientId();
    const err = await failingCall('gemini-2.5-flash', id);
    assert.equal(err.status, 504);
    assert.equal(err.code, 'upstream_timeout');
    const line = await gw.requestLog(id, 'client_request_id');
    assert.equal(line['request_id'], err.headers?.get('x-request-id'));
    assert.equal(line['status'], 504);
    assert.equal(line['outcome'], 'failed');
    assert.equal(line['error_code'], 'upstream_timeout');
    assert.equal(await requests(labels), before + 1, 'gateway_requests_total agrees');
  });

  test('reset mid-stream: the caller had the 200 → logged aborted, 200, upstream_reset', async () => {
    const labels = { model: 'claude-sonnet-4-5', status: '200', outcome: 'aborted' };
    const before = await requests(labels);
    gw.sims['anthropic']!.enqueueFault({ resetAfterEvents: 3, chunks: 6, chunkDelayMs: 50 });
    const id = clientId();
    const opened = await client.chat.completions.create({ model: 'claude-sonnet-4-5', messages: hello, stream: true }, { headers: { 'x-request-id': id } }).withResponse();
    assert.equal(opened.response.status, 200);
    await assert.rejects(async () => {
      for await (const _ of opened.data) {
        // read until Envoy cuts the connection
      }
    }, 'the caller sees a transport error, never a clean end');
    const line = await gw.requestLog(id, 'client_request_id');
    assert.equal(line['request_id'], opened.response.headers.get('x-request-id'));
    assert.equal(line['status'], 200);
    assert.equal(line['outcome'], 'aborted');
    assert.equal(line['error_code'], 'upstream_reset');
    assert.equal(await requests(labels), before + 1, 'gateway_requests_total agrees');
  });

  test('the caller leaves mid-stream → logged aborted, 200, client_closed', async () => {
    const labels = { model: 'gpt-4o-mini', status: '200', outcome: 'aborted' };
    const before = await requests(labels);
    gw.sims['openai-primary']!.enqueueFault({ chunks: 20, chunkDelayMs: 100 });
    const controller = new AbortController();
    const res = await gw.raw('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.demoKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: hello, stream: true }),
      signal: controller.signal,
    });
    await res.body!.getReader().read();
    controller.abort();
    const line = await gw.requestLog(res.headers.get('x-request-id'));
    assert.deepEqual([line['status'], line['outcome'], line['error_code']], [200, 'aborted', 'client_closed']);
    assert.equal(await requests(labels), before + 1, 'gateway_requests_total agrees');
  });
});

interface RawReply {
  status: number;
  headers: Record<string, string>;
}

/** Sends bytes on a fresh connection and reads the response head (or fails after 10 s). */
function rawHead(bytes: string): Promise<RawReply> {
  const port = Number(new URL(gw.httpUrl).port);
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let got = '';
    const guard = setTimeout(() => done(new Error('no reply within 10 s')), 10_000);
    const done = (err?: Error): void => {
      clearTimeout(guard);
      sock.destroy();
      const end = got.indexOf('\r\n\r\n');
      if (end === -1) return reject(err ?? new Error(`incomplete reply: ${JSON.stringify(got.slice(0, 200))}`));
      const [statusLine, ...lines] = got.slice(0, end).split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) headers[l.slice(0, l.indexOf(':')).trim().toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
      resolve({ status: Number(statusLine!.split(' ')[1]), headers });
    };
    sock.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.includes('\r\n\r\n')) done();
    });
    sock.on('close', () => done());
    sock.on('error', (e) => done(e));
    sock.write(bytes);
  });
}

function post(version: string, extraHeaderLines: string[] = []): string {
  const body = JSON.stringify({ model: 'gpt-4o-mini', messages: hello });
  return [
    `POST /v1/chat/completions ${version}`,
    'Host: gateway.test',
    `Authorization: Bearer ${gw.demoKey}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...extraHeaderLines,
    '',
    body,
  ].join('\r\n');
}

describe('requests Envoy refuses while reading them: a `rejected` line, provider envoy, with the id the caller got', () => {
  const cases = [
    { name: 'HTTP/1.0', bytes: () => post('HTTP/1.0'), status: 426, code: 'http_version_not_supported' },
    { name: 'headers over 96 KB', bytes: () => post('HTTP/1.1', [`X-Pad: ${'a'.repeat(99_328)}`]), status: 431, code: 'request_headers_too_large' },
  ];
  for (const c of cases) {
    test(`${c.name} → ${c.status}`, async () => {
      const labels = { provider: 'envoy', status: String(c.status), outcome: 'rejected' };
      const before = await requests(labels);
      const reply = await rawHead(c.bytes());
      assert.equal(reply.status, c.status);
      const id = reply.headers['x-request-id'];
      const line = await gw.requestLog(id);
      assert.equal(line['outcome'], 'rejected');
      assert.equal(line['status'], c.status);
      assert.equal(line['provider'], 'envoy');
      assert.equal(line['error_code'], c.code);
      assert.equal(gw.logLines().filter((l) => l['msg'] === 'request' && l['request_id'] === id).length, 1, 'one line');
      assert.equal(await requests(labels), before + 1, 'gateway_requests_total agrees');
    });
  }
});
