import assert from 'node:assert/strict';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { startSimProvider, type SimProvider } from '../../src/simulator/index.ts';
import { makeCert, postH2, postHttps1 } from './helpers/client.ts';

const body = { model: 'claude', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'Hello over TLS' }] };
const headers = { 'x-api-key': 'k', 'anthropic-version': '2023-06-01' };
let ca: string;
let sim: SimProvider;
const url = (): string => `${sim.url}/v1/messages`;

before(async () => {
  const pems = await makeCert();
  ca = pems.cert;
  sim = await startSimProvider({ format: 'anthropic', tls: pems, apiKey: 'k' });
});
after(() => sim.close());

describe('TLS: HTTP/2 with HTTP/1.1 fallback', () => {
  it('serves https URLs', () => {
    assert.match(sim.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('negotiates h2 and streams the same framing', async () => {
    const r = await postH2(url(), body, ca, headers);
    assert.equal(r.error, undefined);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/event-stream; charset=utf-8');
    assert.ok(r.text.startsWith('event: message_start\ndata: {"type":"message_start"'));
    assert.ok(r.text.endsWith('event: message_stop\ndata: {"type":"message_stop"}\n\n'));
    const last = sim.requests.at(-1);
    assert.equal(last?.headers['x-api-key'], 'k');
    assert.ok(!Object.keys(last?.headers ?? {}).some((k) => k.startsWith(':')));
  });

  it('falls back to HTTP/1.1 when the client offers only http/1.1', async () => {
    const r = await postHttps1(url(), { ...body, stream: false }, ca, headers);
    assert.equal(r.alpn, 'http/1.1');
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.text).type, 'message');
  });

  it('accepts TLS 1.3 and offers h2 by ALPN', async () => {
    const socket = tls.connect({ host: '127.0.0.1', port: sim.port, ca, minVersion: 'TLSv1.3', ALPNProtocols: ['h2', 'http/1.1'] });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    assert.equal(socket.getProtocol(), 'TLSv1.3');
    assert.equal(socket.alpnProtocol, 'h2');
    socket.destroy();
  });
});

describe('TLS: faults over HTTP/2', () => {
  it('resetBeforeHeaders resets the stream before any header', async () => {
    const r = await postH2(url(), body, ca, { ...headers, 'x-sim-fault': '{"resetBeforeHeaders":true}' });
    assert.equal(r.status, undefined);
    assert.equal(r.error?.code, 'ERR_HTTP2_STREAM_ERROR');
  });

  it('resetAfterEvents resets the stream after exactly N events', async () => {
    const r = await postH2(url(), body, ca, { ...headers, 'x-sim-fault': '{"resetAfterEvents":2}' });
    assert.equal(r.status, 200);
    assert.equal(r.error?.code, 'ERR_HTTP2_STREAM_ERROR');
    assert.equal(r.text.split('\n\n').length - 1, 2);
  });

  it('split writes and in-stream errors keep their bytes', async () => {
    const r = await postH2(url(), body, ca, { ...headers, 'x-sim-fault': '{"splitBytes":"every-byte","errorEventAfterEvents":3}' });
    assert.equal(r.error, undefined);
    assert.ok(r.text.endsWith('event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'));
    assert.equal(r.text.split('\n\n').length - 1, 4);
  });

  it('status faults carry retry-after', async () => {
    const r = await postH2(url(), body, ca, { ...headers, 'x-sim-fault': '{"status":429,"retryAfter":18}' });
    assert.equal(r.status, 429);
    assert.equal(r.headers['retry-after'], '18');
    assert.equal(JSON.parse(r.text).error.type, 'rate_limit_error');
  });
});
