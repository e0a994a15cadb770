import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { scanLogLine, scanResponse, type LeakSecrets, type RecordedResponse } from './leak-scan.ts';
import { startRecording, stopRecording } from './response-recorder.ts';

const secrets: LeakSecrets = {
  secrets: new Map([
    ['provider key openai-primary', 'sim-openai-primary-0123456789abcdef'],
    ['gateway demo key', 'sk-demo-abcdefghijkl'],
    ['caller credential #1', 'x'],
  ]),
  internalPorts: [36717, 41002],
};
const clean: RecordedResponse = {
  url: 'http://127.0.0.1:40000/v1/chat/completions',
  status: 401,
  headers: [['content-type', 'application/json'], ['x-request-id', 'r-1']],
  body: '{"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","param":null,"code":"invalid_api_key"},"usage":{"prompt_tokens":36717}}',
};

describe('leak scan', () => {
  test('a clean reply passes: public address, a port-sized token count, a too-short secret', () => {
    assert.deepEqual(scanResponse({ ...clean, body: `${clean.body} see http://127.0.0.1:40000/v1` }, secrets), []);
  });

  test('each kind of leak in a reply is found and named', () => {
    const cases: Array<[Partial<RecordedResponse>, RegExp]> = [
      [{ body: 'bad key sim-openai-primary-0123456789abcdef' }, /provider key openai-primary/],
      [{ body: '{"message":"Incorrect API key provided: sk-demo-abcdefghijkl"}' }, /gateway demo key/],
      [{ headers: [['x-llmx-local-reply', '1']] }, /internal header x-llmx-local-reply/],
      [{ headers: [['x-envoy-upstream-service-time', '3']] }, /internal header x-envoy-upstream-service-time/],
      [{ body: 'dial tcp 127.0.0.1:41002: refused' }, /internal host:port/],
      [{ headers: [['location', 'http://localhost%3A36717/']] }, /internal host:port/],
      [{ body: 'TypeError: x\n    at parse (/work/main/src/exchange/parse.ts:12:3)' }, /stack frame/],
      [{ body: 'at async Promise.all (index 0) node:internal/process/task_queues' }, /node:internal/],
      [{ body: 'failed in translate.ts:88' }, /source position/],
      [{ body: 'upstream connect error or disconnect/reset before headers. reset reason: connection failure' }, /Envoy upstream detail/],
    ];
    for (const [part, what] of cases) {
      const leaks = scanResponse({ ...clean, ...part }, secrets);
      assert.ok(leaks.some((l) => what.test(l.what)), `${what} in ${JSON.stringify(part)}: ${JSON.stringify(leaks)}`);
    }
  });

  test('log lines may name ports, never keys or stack frames', () => {
    assert.deepEqual(scanLogLine('{"msg":"gateway ready","listen":"127.0.0.1:36717"}', 'extproc.log:1', secrets), []);
    assert.match(scanLogLine('{"err":"bad sk-demo-abcdefghijkl"}', 'extproc.log:2', secrets)[0]!.what, /gateway demo key/);
    assert.match(scanLogLine('    at Object.<anonymous> (file:///work/main/src/a.ts:1:2)', 'extproc.log:3', secrets)[0]!.what, /stack frame/);
  });
});

describe('recording fetch', () => {
  let server: Server;
  let base: string;
  let release: () => void = () => undefined;
  before(async () => {
    server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'x-seen-key': String(req.headers['x-api-key'] ?? '') });
      res.write('data: one\n\n');
      // The second chunk only after the client has read the first: a buffered copy would hang.
      new Promise<void>((r) => (release = r)).then(() => res.end('data: two\n\n'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  test('a stream reaches the caller chunk by chunk; status, headers, bytes and credentials are recorded', async () => {
    const rec = startRecording([base]);
    try {
      const res = await fetch(`${base}/v1/x`, { headers: { authorization: 'Bearer sk-caller-wrong-1', 'x-api-key': 'sk-ant-caller-2' } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-seen-key'), 'sk-ant-caller-2');
      const reader = res.body!.getReader();
      const first = await reader.read();
      assert.equal(new TextDecoder().decode(first.value), 'data: one\n\n');
      release();
      let rest = '';
      for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
      assert.equal(rest, 'data: two\n\n');
      assert.equal(rec.responses.length, 1);
      assert.equal(rec.responses[0]!.status, 200);
      assert.equal(rec.responses[0]!.body, 'data: one\n\ndata: two\n\n');
      assert.ok(rec.responses[0]!.headers.some(([k]) => k === 'x-seen-key'));
      assert.deepEqual([...rec.credentials].sort(), ['sk-ant-caller-2', 'sk-caller-wrong-1']);
    } finally {
      stopRecording(rec);
    }
  });

  test('other addresses are not recorded', async () => {
    const rec = startRecording(['http://127.0.0.1:1/']);
    try {
      release = () => undefined;
      const res = await fetch(`${base}/v1/y`);
      release();
      await res.body?.cancel();
      assert.equal(rec.responses.length, 0);
    } finally {
      stopRecording(rec);
    }
  });
});
