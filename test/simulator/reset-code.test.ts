import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { startSimProvider, type SimProvider } from '../../src/simulator/index.ts';
import { makeCert } from './helpers/client.ts';

/** `resetCode`: the RST_STREAM error code of an HTTP/2 reset (the e2e reset tests send several). */

let sim: SimProvider;
let ca: string;

before(async () => {
  const pems = await makeCert();
  ca = pems.cert;
  sim = await startSimProvider({ format: 'openai', tls: pems });
});
after(async () => {
  await sim.close();
});

/** One streamed request over HTTP/2: the status, the bytes, and the RST_STREAM code it closed with. */
function streamOnce(): Promise<{ status: number | undefined; text: string; rstCode: number | undefined; ended: boolean }> {
  return new Promise((resolve) => {
    const session = http2.connect(sim.url, { ca });
    session.on('error', () => undefined);
    const out = { status: undefined as number | undefined, text: '', rstCode: undefined as number | undefined, ended: false };
    const req = session.request({ ':method': 'POST', ':path': '/v1/chat/completions', 'content-type': 'application/json' });
    req.setEncoding('utf8');
    req.on('response', (h) => (out.status = Number(h[':status'])));
    req.on('data', (c: string) => (out.text += c));
    req.on('end', () => (out.ended = true));
    req.on('error', () => undefined);
    req.on('close', () => {
      out.rstCode = req.rstCode;
      session.close();
      resolve(out);
    });
    req.end(JSON.stringify({ model: 'gpt', stream: true, messages: [{ role: 'user', content: 'Hello' }] }));
  });
}

describe('fault: resetCode (HTTP/2)', () => {
  it('defaults to INTERNAL_ERROR', async () => {
    sim.enqueueFault({ resetAfterEvents: 1 });
    const r = await streamOnce();
    assert.equal(r.status, 200);
    assert.equal(r.rstCode, http2.constants.NGHTTP2_INTERNAL_ERROR);
    assert.equal(r.text.split('\n\n').length - 1, 1, 'one event, then the reset');
  });

  for (const code of [http2.constants.NGHTTP2_NO_ERROR, http2.constants.NGHTTP2_CANCEL, http2.constants.NGHTTP2_REFUSED_STREAM]) {
    it(`sends RST_STREAM code ${code} after the events`, async () => {
      sim.enqueueFault({ resetAfterEvents: 2, resetCode: code });
      const r = await streamOnce();
      assert.equal(r.status, 200);
      assert.equal(r.rstCode, code);
      assert.ok(!r.text.includes('[DONE]'), 'the stream never reached its end');
    });
  }
});
