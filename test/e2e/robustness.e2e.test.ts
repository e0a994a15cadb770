import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { authHeaders, hello, startTestStack, type TestStack } from '../support/e2e.ts';

const PROJECT = path.resolve(import.meta.dirname, '../..');
let gw: TestStack;
let configFile: string;

before(async () => {
  configFile = path.join(mkdtempSync(path.join(tmpdir(), 'llmx-config-')), 'gateway.yaml');
  copyFileSync(path.join(PROJECT, 'config/gateway.yaml'), configFile);
  gw = await startTestStack({ configFile });
});
after(async () => {
  await gw?.dispose();
});

async function post(body: string | Blob, headers: Record<string, string> = authHeaders(gw)): Promise<{ status: number; json: { error?: { message: string; type: string; param: string | null; code: string | null } } }> {
  const res = await gw.raw('/v1/chat/completions', { method: 'POST', headers, body });
  const text = await res.text();
  return { status: res.status, json: JSON.parse(text) as { error?: { message: string; type: string; param: string | null; code: string | null } } };
}

function assertOpenAIError(json: { error?: Record<string, unknown> }): void {
  assert.ok(json.error, JSON.stringify(json));
  assert.deepEqual(Object.keys(json.error).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(typeof json.error.message, 'string');
  assert.ok(!/\bat \S+\.ts:\d+|node:internal|Error:/.test(String(json.error.message)), 'no stack traces');
}

describe('bad input gets a clear OpenAI-style error and the gateway keeps serving', () => {
  const cases: Array<{ name: string; body: string; status: number; param?: string | null; code?: string }> = [
    { name: 'malformed JSON', body: '{"model": "gpt-4o-mini", "messages": [', status: 400, code: 'invalid_json' },
    { name: 'a body that is not an object', body: '[1,2,3]', status: 400, code: 'invalid_json' },
    { name: 'a JSON string', body: '"hello"', status: 400, code: 'invalid_json' },
    { name: 'missing model', body: JSON.stringify({ messages: hello }), status: 400, param: 'model' },
    { name: 'missing messages', body: JSON.stringify({ model: 'gpt-4o-mini' }), status: 400, param: 'messages' },
    { name: 'empty messages', body: JSON.stringify({ model: 'gpt-4o-mini', messages: [] }), status: 400, param: 'messages' },
    { name: 'model of the wrong type', body: JSON.stringify({ model: 42, messages: hello }), status: 400, param: 'model' },
    { name: 'temperature of the wrong type', body: JSON.stringify({ model: 'gpt-4o-mini', messages: hello, temperature: 'hot' }), status: 400, param: 'temperature' },
    { name: 'a message without a role', body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ content: 'hi' }] }), status: 400, param: 'messages[0].role' },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const { status, json } = await post(c.body);
      assert.equal(status, c.status, JSON.stringify(json));
      assertOpenAIError(json);
      assert.equal(json.error!.type, 'invalid_request_error');
      if (c.param !== undefined) assert.equal(json.error!.param, c.param);
      if (c.code !== undefined) assert.equal(json.error!.code, c.code);
    });
  }

  test('an empty body', async () => {
    const res = await gw.raw('/v1/chat/completions', { method: 'POST', headers: authHeaders(gw) });
    assert.equal(res.status, 400);
    assertOpenAIError((await res.json()) as { error?: Record<string, unknown> });
  });

  test('a non-JSON content type: 415', async () => {
    const { status, json } = await post('model=gpt-4o-mini', authHeaders(gw, { 'content-type': 'application/x-www-form-urlencoded' }));
    assert.equal(status, 415);
    assertOpenAIError(json);
  });

  test('a body over the limit: 413, without reaching a provider', async () => {
    for (const sim of Object.values(gw.sims)) sim.reset();
    const big = new Blob([new Uint8Array(17 * 1024 * 1024).fill(0x61)]);
    const { status, json } = await post(big);
    assert.equal(status, 413);
    assertOpenAIError(json);
    assert.equal(gw.sims['openai-primary']!.requests.length, 0);
  });

  test('a chunked body (no content-length) over the limit: 413 in OpenAI format once Envoy has buffered the limit, without reaching a provider', async () => {
    for (const sim of Object.values(gw.sims)) sim.reset();
    const piece = new Uint8Array(1024 * 1024).fill(0x61);
    let sent = 0;
    // Never-ending: only a refusal counted while the body arrives can answer this request.
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent++;
        controller.enqueue(piece);
      },
    });
    const res = await fetch(`${gw.httpUrl}/v1/chat/completions`, { method: 'POST', headers: authHeaders(gw), body, duplex: 'half' } as RequestInit);
    assert.equal(res.status, 413);
    assertOpenAIError((await res.json()) as { error?: Record<string, unknown> });
    assert.ok(sent >= 16, `refused after the limit, not before (${sent} MiB offered)`);
    assert.equal(gw.sims['openai-primary']!.requests.length, 0);
  });

  test('a large prompt that arrives in many chunks is translated whole, for a translated and an untranslated provider', async () => {
    for (const sim of Object.values(gw.sims)) sim.reset();
    const prompt = `${'lorem ipsum '.repeat(400_000)}END`; // ~4.8 MB
    for (const [model, sim] of [['claude-sonnet-4-5', 'anthropic'], ['gpt-4o-mini', 'openai-primary']] as const) {
      const ok = await gw.client().chat.completions.create({ model, messages: [{ role: 'user', content: prompt }] });
      assert.equal(ok.choices[0]!.finish_reason, 'stop');
      const got = gw.sims[sim]!.requests.at(-1)!.body as { messages: Array<{ content: unknown }> };
      const text = JSON.stringify(got.messages.at(-1)!.content);
      assert.ok(text.includes('END') && text.length > prompt.length, `${sim} received the whole prompt`);
    }
  });

  test('a slow upload (a pause longer than the ext_proc message timeout mid-body) is still served', async () => {
    const body = Buffer.from(JSON.stringify({ model: 'claude-sonnet-4-5', messages: hello }));
    const half = Math.floor(body.length / 2);
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(body.subarray(0, half));
        await new Promise((r) => setTimeout(r, 6000)); // envoy.yaml: message_timeout 5s
        controller.enqueue(body.subarray(half));
        controller.close();
      },
    });
    const res = await fetch(`${gw.httpUrl}/v1/chat/completions`, { method: 'POST', headers: authHeaders(gw), body: stream, duplex: 'half' } as RequestInit);
    const json = (await res.json()) as { choices?: unknown[] };
    assert.equal(res.status, 200, JSON.stringify(json));
    assert.equal(json.choices?.length, 1);
  });

  test('unknown fields pass through to an OpenAI-compatible provider', async () => {
    for (const sim of Object.values(gw.sims)) sim.reset();
    const res = await post(JSON.stringify({ model: 'gpt-4o-mini', messages: hello, vendor_extension: { top_k: 5 } }));
    assert.equal(res.status, 200);
    const sent = gw.sims['openai-primary']!.requests[0]!.body as Record<string, unknown>;
    assert.deepEqual(sent.vendor_extension, { top_k: 5 });
  });

  test('a huge header does not take the gateway down', async () => {
    // Envoy refuses headers beyond max_request_headers_kb (96 KiB) at the codec: HTTP/1.1 gets a
    // 431 or, when the header block straddles reads, a closed connection (Envoy's codec behaviour).
    const res = await gw.raw('/v1/models', { headers: authHeaders(gw, { 'x-huge': 'a'.repeat(100_000) }) }).catch((err: unknown) => err);
    if (res instanceof Response) assert.equal(res.status, 431);
    const ok = await gw.client().chat.completions.create({ model: 'gpt-4o-mini', messages: hello });
    assert.equal(ok.choices[0]!.finish_reason, 'stop');
  });

  test('the service still answers after all of the above', async () => {
    const ok = await gw.client().chat.completions.create({ model: 'gpt-4o-mini', messages: hello });
    assert.equal(ok.object, 'chat.completion');
  });
});

describe('internal headers a caller sends are stripped before anything reads them', () => {
  test('a caller cannot steer routing, retries or attempts', async () => {
    for (const sim of Object.values(gw.sims)) sim.reset();
    const headers = authHeaders(gw, {
      'x-llmx-try-1': 'gemini',
      'x-llmx-try-2': 'anthropic',
      'x-envoy-attempt-count': '1',
      'x-envoy-max-retries': '3',
      'x-envoy-retry-on': '4xx',
      'x-envoy-upstream-rq-timeout-ms': '1',
      'x-llmx-local-reply': 'x',
    });
    gw.sims['openai-primary']!.enqueueFault({ status: 400 });
    const res = await gw.raw('/v1/chat/completions', { method: 'POST', headers, body: JSON.stringify({ model: 'gpt-4o-mini', messages: hello }) });
    // 400 is not retried (the caller's x-envoy-retry-on is gone), routing followed the plan.
    assert.equal(res.status, 400);
    assert.equal(gw.sims['openai-primary']!.requests.length, 1);
    assert.equal(gw.sims['gemini']!.requests.length, 0);
    assert.equal(gw.sims['anthropic']!.requests.length, 0);
    assert.equal(gw.sims['openai-backup']!.requests.length, 0);
    const seen = gw.sims['openai-primary']!.requests[0]!.headers;
    assert.equal(seen['x-envoy-retry-on'], undefined);
    assert.equal(seen['x-envoy-upstream-rq-timeout-ms'], undefined);
    assert.equal(seen['x-llmx-local-reply'], undefined);
  });
});

describe('request ids', () => {
  test("a caller's x-request-id cannot collide with another request's state", async () => {
    for (const sim of Object.values(gw.sims)) sim.reset();
    const send = (): Promise<Response> =>
      gw.raw('/v1/chat/completions', {
        method: 'POST',
        headers: authHeaders(gw, { 'x-request-id': 'chosen-by-the-caller' }),
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: hello }),
      });
    const [a, b] = await Promise.all([send(), send()]);
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    const ids = [a.headers.get('x-request-id'), b.headers.get('x-request-id')];
    assert.ok(ids.every((id) => id && id !== 'chosen-by-the-caller'));
    assert.notEqual(ids[0], ids[1]);
  });
});

describe('config hot reload', () => {
  test('a valid change applies without a restart and without dropping a request in flight', async () => {
    for (const sim of Object.values(gw.sims)) sim.reset();
    gw.sims['openai-primary']!.enqueueFault({ chunks: 6, chunkDelayMs: 200 });
    const stream = await gw.client().chat.completions.create({ model: 'gpt-4o-mini', messages: hello, stream: true });
    const original = readFileSync(configFile, 'utf8');
    writeFileSync(configFile, original.replace('models:\n', 'models:\n  reloaded-model:\n    targets:\n      - { provider: openai-primary, model: gpt-4o-mini }\n'));
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    assert.ok(text.length > 0, 'the stream in flight finished');
    let ids: string[] = [];
    for (let i = 0; i < 50 && !ids.includes('reloaded-model'); i++) {
      ids = (await gw.client().models.list()).data.map((m) => m.id);
      if (!ids.includes('reloaded-model')) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(ids.includes('reloaded-model'), ids.join(','));
    const res = await gw.client().chat.completions.create({ model: 'reloaded-model', messages: hello });
    assert.equal(res.model, 'reloaded-model');
  });

  test('an invalid change is refused, logged with file and path, and the last good config keeps serving', async () => {
    const good = readFileSync(configFile, 'utf8');
    writeFileSync(configFile, good.replace('{ provider: openai-backup, model: gpt-4o-mini }', '{ provider: no-such-provider, model: gpt-4o-mini }'));
    let refused: Record<string, unknown> | undefined;
    for (let i = 0; i < 50 && !refused; i++) {
      refused = gw.logLines().find((l) => String(l.msg).includes('config change refused'));
      if (!refused) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(refused, 'the refusal is logged');
    assert.match(String(refused.error), /gateway\.yaml(:\d+)?: models\.gpt-4o-mini\.targets\[1\]\.provider: unknown provider "no-such-provider"/);
    const res = await gw.client().chat.completions.create({ model: 'reloaded-model', messages: hello });
    assert.equal(res.object, 'chat.completion');
    writeFileSync(configFile, 'providers: [this is: not valid');
    await new Promise((r) => setTimeout(r, 400));
    const again = await gw.client().chat.completions.create({ model: 'gpt-4o-mini', messages: hello });
    assert.equal(again.object, 'chat.completion');
    writeFileSync(configFile, good);
  });
});

describe('the ext_proc service down', () => {
  test('Envoy fails closed with a clean 503 and recovers by itself', async () => {
    for (const sim of Object.values(gw.sims)) sim.reset();
    await gw.stopExtproc();
    const down = await post(JSON.stringify({ model: 'gpt-4o-mini', messages: hello }));
    assert.equal(down.status, 503);
    assertOpenAIError(down.json);
    assert.equal(down.json.error!.code, 'gateway_unavailable');
    for (const sim of Object.values(gw.sims)) assert.equal(sim.requests.length, 0, 'nothing went upstream unchecked');
    await gw.startExtproc();
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await post(JSON.stringify({ model: 'gpt-4o-mini', messages: hello }))).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status, 200);
  });
});

describe('per-request state', () => {
  async function inFlight(): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${gw.metricsPort}/metrics`)).text();
    const m = /^gateway_exchanges_in_flight (\d+)/m.exec(text);
    assert.ok(m, 'metric present');
    return Number(m[1]);
  }

  test('is freed when the client disconnects mid-stream', async () => {
    for (const sim of Object.values(gw.sims)) sim.reset();
    gw.sims['openai-primary']!.enqueueFault({ chunks: 20, chunkDelayMs: 100 });
    const controller = new AbortController();
    const res = await gw.raw('/v1/chat/completions', {
      method: 'POST',
      headers: authHeaders(gw),
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: hello, stream: true }),
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    assert.equal(await inFlight(), 1, 'held while the stream is open');
    controller.abort();
    let n = -1;
    for (let i = 0; i < 50 && n !== 0; i++) {
      n = await inFlight();
      if (n !== 0) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(n, 0, 'released after the client went away');
    // Logged once Envoy's access log says why (or after its bounded wait: the ext_proc restart
    // above can delay Envoy's log stream; envoy-outcomes.e2e.test.ts checks the `client_closed`).
    const line = await gw.requestLog(res.headers.get('x-request-id'));
    assert.equal(line['outcome'], 'aborted');
    assert.equal(gw.logLines().filter((l) => l.msg === 'request' && l.request_id === line['request_id']).length, 1, 'logged once');
  });
});
