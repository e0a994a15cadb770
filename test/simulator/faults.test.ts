import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startSimProvider, type SimFormat, type SimProvider } from '../../src/simulator/index.ts';
import { makeCert, post, postH2, WIRE } from './helpers/client.ts';
import { rawPost } from './helpers/raw.ts';

const sims = new Map<SimFormat, SimProvider>();
const REQUESTS: Record<SimFormat, { path: string; body: unknown; streamPath: string; streamBody: unknown; sep: string }> = {
  openai: {
    path: '/v1/chat/completions',
    body: { model: 'gpt', messages: [{ role: 'user', content: 'Hello' }] },
    streamPath: '/v1/chat/completions',
    streamBody: { model: 'gpt', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Hello' }] },
    sep: '\n\n',
  },
  anthropic: {
    path: '/v1/messages',
    body: { model: 'claude', max_tokens: 100, messages: [{ role: 'user', content: 'Hello' }] },
    streamPath: '/v1/messages',
    streamBody: { model: 'claude', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'Hello' }] },
    sep: '\n\n',
  },
  gemini: {
    path: '/v1beta/models/gemini-3-pro:generateContent',
    body: { contents: [{ parts: [{ text: 'Hello' }] }] },
    streamPath: '/v1beta/models/gemini-3-pro:streamGenerateContent?alt=sse',
    streamBody: { contents: [{ parts: [{ text: 'Hello' }] }] },
    sep: '\r\n\r\n',
  },
};
const FORMATS: SimFormat[] = ['openai', 'anthropic', 'gemini'];

function sim(f: SimFormat): SimProvider {
  const s = sims.get(f);
  assert.ok(s);
  return s;
}
const streamUrl = (f: SimFormat): string => `${sim(f).url}${REQUESTS[f].streamPath}`;
const jsonUrl = (f: SimFormat): string => `${sim(f).url}${REQUESTS[f].path}`;
const fault = (f: object): Record<string, string> => ({ 'x-sim-fault': JSON.stringify(f) });

before(async () => {
  for (const f of FORMATS) sims.set(f, await startSimProvider({ format: f }));
});
after(async () => {
  await Promise.all([...sims.values()].map((s) => s.close()));
});

describe('fault: timing (asserted loosely)', () => {
  it('latencyMs delays the response headers', async () => {
    const t0 = performance.now();
    const r = await post(jsonUrl('openai'), REQUESTS.openai.body, fault({ latencyMs: 200 }));
    assert.equal(r.status, 200);
    assert.ok(performance.now() - t0 >= 150);
  });

  it('chunkDelayMs spaces the stream events', async () => {
    const t0 = performance.now();
    const r = await post(streamUrl('anthropic'), REQUESTS.anthropic.streamBody, fault({ chunkDelayMs: 30, chunks: 4 }));
    assert.ok(performance.now() - t0 >= 150, 'ten events, nine gaps of 30 ms');
    assert.ok(r.text.endsWith('event: message_stop\ndata: {"type":"message_stop"}\n\n'));
  });
});

describe('fault: status', () => {
  for (const f of FORMATS) {
    it(`${f}: status + retry-after in the provider's error format, streams included`, async () => {
      const r = await post(streamUrl(f), REQUESTS[f].streamBody, fault({ status: 500, retryAfter: 7 }));
      assert.equal(r.status, 500);
      assert.equal(r.headers['retry-after'], '7');
      const body = JSON.parse(r.text);
      if (f === 'anthropic') assert.equal(body.error.type, 'api_error');
      if (f === 'openai') assert.equal(body.error.type, 'server_error');
      if (f === 'gemini') assert.equal(body.error.status, 'INTERNAL');
    });
  }
});

describe('fault: connection resets', () => {
  for (const f of FORMATS) {
    it(`${f}: resetBeforeHeaders makes the client fail without a status`, async () => {
      const r = await rawPost(jsonUrl(f), REQUESTS[f].body, fault({ resetBeforeHeaders: true }));
      assert.equal(r.status, undefined);
      assert.ok(r.error, 'client saw an error');
      await assert.rejects(post(jsonUrl(f), REQUESTS[f].body, fault({ resetBeforeHeaders: true })), TypeError);
    });

    it(`${f}: resetAfterEvents cuts the stream after exactly N events`, async () => {
      const r = await rawPost(streamUrl(f), REQUESTS[f].streamBody, fault({ resetAfterEvents: 3 }));
      assert.equal(r.status, 200);
      assert.ok(r.error, 'client saw the reset');
      const text = r.body.toString('utf8');
      const parts = text.split(REQUESTS[f].sep);
      assert.equal(parts.length - 1, 3);
      assert.equal(parts.at(-1), '');
    });
  }

  it('resetAfterEvents: 0 sends the 200 head, then resets', async () => {
    const r = await rawPost(streamUrl('openai'), REQUESTS.openai.streamBody, fault({ resetAfterEvents: 0 }));
    assert.equal(r.status, 200);
    assert.ok(r.error);
    assert.equal(r.body.length, 0);
  });
});

describe('fault: JSON answers broken mid-body', () => {
  for (const f of FORMATS) {
    it(`${f}: resetAfterBytes sends the 200 head and exactly N body bytes, then resets`, async () => {
      const r = await rawPost(jsonUrl(f), REQUESTS[f].body, fault({ resetAfterBytes: 40 }));
      assert.equal(r.status, 200);
      assert.match(r.headers['content-type'] ?? '', /^application\/json/);
      assert.ok(Number(r.headers['content-length']) > 40, "the whole body's length is announced");
      assert.ok(r.error, 'client saw the reset');
      assert.equal(r.body.length, 40);
      assert.equal(r.body.toString('utf8')[0], '{', 'the start of the JSON answer');
    });
  }

  it('resetAfterBytes is capped below the body length, so the body is never whole', async () => {
    const r = await rawPost(jsonUrl('openai'), REQUESTS.openai.body, fault({ resetAfterBytes: 1_000_000 }));
    assert.equal(r.status, 200);
    assert.ok(r.error);
    assert.equal(r.body.length, Number(r.headers['content-length']) - 1);
  });

  it('resetAfterBytes: 0 sends the 200 head, then resets', async () => {
    const r = await rawPost(jsonUrl('anthropic'), REQUESTS.anthropic.body, fault({ resetAfterBytes: 0 }));
    assert.equal(r.status, 200);
    assert.ok(r.error);
    assert.equal(r.body.length, 0);
  });

  it('resetAfterBytes counts the bytes as sent after contentEncoding', async () => {
    const r = await rawPost(jsonUrl('gemini'), REQUESTS.gemini.body, fault({ resetAfterBytes: 10, contentEncoding: 'gzip' }));
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.ok(r.error);
    assert.equal(r.body.length, 10);
    assert.deepEqual([...r.body.subarray(0, 2)], [0x1f, 0x8b], 'the gzip magic');
  });

  it('stallAfterBytes pauses mid-body: the first bytes arrive, the rest only after the stall', async () => {
    const arrivals: Array<{ at: number; bytes: number }> = [];
    const t0 = performance.now();
    const r = await new Promise<{ status: number | undefined; length: string | undefined; body: Buffer }>((resolve, reject) => {
      const req = http.request(jsonUrl('openai'), { method: 'POST', agent: false, headers: { 'content-type': 'application/json', ...fault({ stallAfterBytes: 25, stallMs: 300 }) } }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => {
          parts.push(c);
          arrivals.push({ at: performance.now() - t0, bytes: c.length });
        });
        res.on('end', () => resolve({ status: res.statusCode, length: res.headers['content-length'], body: Buffer.concat(parts) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(JSON.stringify(REQUESTS.openai.body));
    });
    assert.equal(r.status, 200);
    assert.equal(String(r.body.length), r.length, 'the whole body arrives after the stall');
    assert.equal(JSON.parse(r.body.toString('utf8')).object, 'chat.completion');
    assert.equal(arrivals[0]?.bytes, 25, 'the bytes before the stall arrive on their own');
    assert.ok((arrivals.at(-1)?.at ?? 0) - (arrivals[0]?.at ?? 0) >= 250, 'the rest waits for the stall');
  });

  it('stallAfterBytes then resetAfterBytes: the pause, then the reset', async () => {
    const r = await rawPost(jsonUrl('gemini'), REQUESTS.gemini.body, fault({ stallAfterBytes: 5, stallMs: 20, resetAfterBytes: 30 }));
    assert.equal(r.status, 200);
    assert.ok(r.error);
    assert.equal(r.body.length, 30);
  });

  it('resetAfterBytes over HTTP/2: the 200 head, N bytes, then RST_STREAM', async () => {
    const pems = await makeCert();
    const h2 = await startSimProvider({ format: 'anthropic', tls: pems });
    try {
      const r = await postH2(`${h2.url}/v1/messages`, REQUESTS.anthropic.body, pems.cert, fault({ resetAfterBytes: 30 }));
      assert.equal(r.status, 200);
      assert.equal(r.error?.code, 'ERR_HTTP2_STREAM_ERROR');
      assert.equal(Buffer.byteLength(r.text), 30);
    } finally {
      await h2.close();
    }
  });

  it('the header schema accepts the new fields and refuses negative ones', async () => {
    const r = await post(jsonUrl('openai'), REQUESTS.openai.body, fault({ stallAfterBytes: -1 }));
    assert.equal(r.status, 400);
    assert.match(r.text, /stallAfterBytes/);
  });
});

describe('fault: a stream that stalls', () => {
  for (const f of FORMATS) {
    it(`${f}: stallAfterEvents pauses after exactly N events, then sends the rest`, async () => {
      const full = await post(streamUrl(f), REQUESTS[f].streamBody);
      const total = full.text.split(REQUESTS[f].sep).filter((e) => e.trim() !== '').length;
      const arrivals: Array<{ at: number; events: number }> = [];
      let text = '';
      await new Promise<void>((resolve, reject) => {
        const req = http.request(streamUrl(f), { method: 'POST', agent: false, headers: { 'content-type': 'application/json', ...fault({ stallAfterEvents: 2, stallMs: 300 }) } }, (res) => {
          res.on('data', (c: Buffer) => {
            text += c.toString('utf8');
            arrivals.push({ at: performance.now(), events: text.split(REQUESTS[f].sep).length - 1 });
          });
          res.on('end', resolve);
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(JSON.stringify(REQUESTS[f].streamBody));
      });
      assert.equal(text.split(REQUESTS[f].sep).filter((e) => e.trim() !== '').length, total, 'every event arrives in the end');
      // The longest wait between two arrivals is the stall, right after the second event.
      let longest = 1;
      for (let i = 2; i < arrivals.length; i++) if (arrivals[i]!.at - arrivals[i - 1]!.at > arrivals[longest]!.at - arrivals[longest - 1]!.at) longest = i;
      assert.equal(arrivals[longest - 1]!.events, 2, JSON.stringify(arrivals));
    });
  }
});

describe('fault: in-stream error event', () => {
  it('openai: data {"error":…} after N events and no [DONE]', async () => {
    const r = await post(streamUrl('openai'), REQUESTS.openai.streamBody, fault({ errorEventAfterEvents: 2 }));
    const events = r.text.split('\n\n').slice(0, -1);
    assert.equal(events.length, 3);
    const last = JSON.parse(events[2]?.slice(6) ?? '');
    assert.deepEqual(Object.keys(last.error), ['message', 'type', 'param', 'code']);
    assert.ok(!r.text.includes('[DONE]'));
  });

  it('anthropic: event: error overloaded_error, no message_stop', async () => {
    const r = await post(streamUrl('anthropic'), REQUESTS.anthropic.streamBody, fault({ errorEventAfterEvents: 4 }));
    const events = r.text.split('\n\n').slice(0, -1);
    assert.equal(events.length, 5);
    assert.equal(events[4], 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}');
    assert.ok(!r.text.includes('message_stop'));
  });

  it('gemini: data {"error": …} UNAVAILABLE after N chunks', async () => {
    const r = await post(streamUrl('gemini'), REQUESTS.gemini.streamBody, fault({ errorEventAfterEvents: 1 }));
    const events = r.text.split('\r\n\r\n').slice(0, -1);
    assert.equal(events.length, 2);
    assert.equal(JSON.parse(events[1]?.slice(6) ?? '').error.status, 'UNAVAILABLE');
  });

  it('caps N so the error always arrives before the stream would end', async () => {
    const r = await post(streamUrl('openai'), REQUESTS.openai.streamBody, fault({ errorEventAfterEvents: 10_000 }));
    assert.ok(r.text.endsWith('"code":null}}\n\n'));
  });
});

describe('fault: split writes', () => {
  it('every-byte, random and explicit offsets reassemble the same answer', async () => {
    const plain = await rawPost(streamUrl('gemini'), REQUESTS.gemini.streamBody);
    const textOf = (b: Buffer): string => b.toString('utf8').replace(/"responseId": "[^"]+"/g, '');
    for (const splitBytes of ['every-byte', 'random', [1, 7, 100, 101]]) {
      const r = await rawPost(streamUrl('gemini'), REQUESTS.gemini.streamBody, fault({ splitBytes }));
      assert.equal(r.error, undefined);
      assert.equal(textOf(r.body), textOf(plain.body), String(splitBytes));
    }
  });

  it('every-byte reaches the client in many separate reads', async () => {
    const r = await rawPost(jsonUrl('anthropic'), REQUESTS.anthropic.body, fault({ splitBytes: 'every-byte' }));
    assert.equal(r.status, 200);
    assert.ok(r.reads > 10, `reads: ${r.reads}`);
    assert.equal(JSON.parse(r.body.toString('utf8')).type, 'message');
  });
});

describe('fault: replay', () => {
  const manifest = JSON.parse(readFileSync(path.join(WIRE, 'manifest.json'), 'utf8')) as {
    fixtures: { fixture: string; status: number; content_type: string }[];
  };
  for (const entry of manifest.fixtures) {
    it(`replays ${entry.fixture} byte for byte`, async () => {
      const format = entry.fixture.split('/')[0] as SimFormat;
      const body = readFileSync(path.join(WIRE, entry.fixture));
      const headersFile = path.join(WIRE, entry.fixture.replace(/\.json$/, '.headers.json'));
      const headers = entry.fixture.endsWith('.json') && entry.status !== 200 ? (JSON.parse(readFileSync(headersFile, 'utf8')).headers as Record<string, string>) : {};
      const contentType = headers['content-type'] ?? entry.content_type;
      sim(format).enqueueFault({
        replay: { status: entry.status, contentType, body: new Uint8Array(body), headers },
        splitBytes: entry.fixture.endsWith('.sse') ? 'random' : undefined,
      });
      const r = await rawPost(jsonUrl(format), {});
      assert.equal(r.status, entry.status);
      assert.equal(r.headers['content-type'], contentType);
      for (const [k, v] of Object.entries(headers)) assert.equal(r.headers[k], v);
      assert.ok(r.body.equals(body));
    });
  }

  it('replays a string body given in the x-sim-fault header', async () => {
    const replay = { status: 418, contentType: 'text/plain', body: 'short and stout', headers: { 'x-extra': '1' } };
    const r = await rawPost(jsonUrl('openai'), {}, fault({ replay }));
    assert.equal(r.status, 418);
    assert.equal(r.headers['x-extra'], '1');
    assert.equal(r.body.toString(), 'short and stout');
  });
});

describe('fault selection', () => {
  it('header beats queue (which it leaves alone), queue is FIFO, default applies when empty', async () => {
    const s = sim('openai');
    const url = jsonUrl('openai');
    const body = REQUESTS.openai.body;
    s.setDefaultFault({ status: 503 });
    s.enqueueFault({ status: 500 });
    s.enqueueFault({ status: 502 });
    assert.equal((await post(url, body, fault({ status: 429 }))).status, 429);
    assert.equal((await post(url, body)).status, 500);
    assert.equal((await post(url, body)).status, 502);
    assert.equal((await post(url, body)).status, 503);
    assert.equal((await post(url, body)).status, 503);
    s.setDefaultFault(undefined);
    assert.equal((await post(url, body)).status, 200);
    s.enqueueFault({ status: 500 });
    s.setDefaultFault({ status: 503 });
    s.reset();
    assert.equal((await post(url, body)).status, 200);
    assert.equal(s.requests.length, 1);
  });

  it('rejects a malformed x-sim-fault header with a 400 naming it', async () => {
    const notJson = await post(jsonUrl('anthropic'), REQUESTS.anthropic.body, { 'x-sim-fault': '{oops' });
    assert.equal(notJson.status, 400);
    assert.match(JSON.parse(notJson.text).error.message, /x-sim-fault/);
    const unknownField = await post(jsonUrl('gemini'), REQUESTS.gemini.body, fault({ latency: 5 }));
    assert.equal(unknownField.status, 400);
    assert.match(JSON.parse(unknownField.text).error.message, /x-sim-fault/);
  });

  it('chunks sets the number of content pieces', async () => {
    const r = await post(streamUrl('openai'), REQUESTS.openai.streamBody, fault({ chunks: 50 }));
    assert.equal(r.text.split('\n\n').length - 1, 1 + 50 + 1 + 1 + 1);
  });
});
