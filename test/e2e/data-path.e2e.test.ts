import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { authHeaders, hello, startTestStack, type TestStack } from '../support/e2e.ts';

let gw: TestStack;
before(async () => {
  gw = await startTestStack();
});
after(async () => {
  await gw?.dispose();
});

function resetSims(): void {
  for (const sim of Object.values(gw.sims)) sim.reset();
}

describe('chat completions through real Envoy', () => {
  test('non-stream over plaintext and over TLS 1.3', async () => {
    resetSims();
    for (const tls of [false, true]) {
      const res = await gw.client({ tls }).chat.completions.create({ model: 'gpt-4o-mini', messages: hello });
      assert.equal(res.object, 'chat.completion');
      assert.equal(res.model, 'gpt-4o-mini');
      assert.match(res.id, /^chatcmpl-/);
      assert.equal(res.choices[0]!.message.role, 'assistant');
      assert.ok((res.choices[0]!.message.content ?? '').length > 0);
      assert.equal(res.choices[0]!.finish_reason, 'stop');
      assert.ok(res.usage && res.usage.prompt_tokens > 0 && res.usage.completion_tokens > 0);
      assert.equal(res.usage.total_tokens, res.usage.prompt_tokens + res.usage.completion_tokens);
    }
    const seen = gw.sims['openai-primary']!.requests;
    assert.equal(seen.length, 2);
    // The provider got its own key, never the caller's, and none of the gateway's internal headers.
    for (const r of seen) {
      assert.match(r.headers.authorization ?? '', /^Bearer sim-openai-primary-/);
      assert.ok(!JSON.stringify(r.headers).includes(gw.demoKey));
      // The plan's slot headers (cluster names) stay on the header map Envoy shares between
      // attempts, so the first attempt's provider sees them (README, "Failover"); nothing else
      // internal does.
      const internal = Object.keys(r.headers).filter((h) => h.startsWith('x-llmx-'));
      assert.deepEqual(internal.sort(), ['x-llmx-try-1', 'x-llmx-try-2'], JSON.stringify(r.headers));
      assert.equal(r.headers['x-llmx-try-2'], 'openai-backup');
      assert.equal(r.path, '/v1/chat/completions');
    }
  });

  test('stream: chunks reach the client as the provider sends them', async () => {
    resetSims();
    gw.sims['openai-primary']!.enqueueFault({ chunks: 6, chunkDelayMs: 250 });
    const stream = await gw.client().chat.completions.create({ model: 'gpt-4o-mini', messages: hello, stream: true });
    const arrivals: number[] = [];
    let text = '';
    let first = true;
    let finish: string | null = null;
    for await (const chunk of stream) {
      assert.equal(chunk.model, 'gpt-4o-mini');
      if (first) {
        assert.equal(chunk.choices[0]?.delta.role, 'assistant');
        first = false;
      }
      if (chunk.choices[0]?.delta.content) {
        arrivals.push(Date.now());
        text += chunk.choices[0].delta.content;
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
      assert.equal(chunk.usage, undefined, 'no usage chunk unless asked for');
    }
    assert.ok(text.length > 0);
    assert.equal(finish, 'stop');
    assert.ok(arrivals.length >= 5, `content chunks: ${arrivals.length}`);
    // Buffering would deliver every chunk at once; streaming spreads them over the provider's pace
    // (5 gaps of 250 ms at the provider; the bound leaves more than half of that as slack).
    assert.ok(arrivals.at(-1)! - arrivals[0]! >= 600, `chunks spread over ${arrivals.at(-1)! - arrivals[0]!} ms`);
    // The gateway forced include_usage upstream so that it can account tokens.
    const sent = gw.sims['openai-primary']!.requests[0]!.body as { stream_options?: { include_usage?: boolean } };
    assert.equal(sent.stream_options?.include_usage, true);
  });

  test('stream with include_usage ends with the usage chunk', async () => {
    resetSims();
    const stream = await gw.client({ tls: true }).chat.completions.create({
      model: 'gpt-4o-mini',
      messages: hello,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    const last = chunks.at(-1)!;
    assert.deepEqual(last.choices, []);
    assert.ok(last.usage && last.usage.prompt_tokens > 0);
  });

  test('GET /v1/models lists the configured public models', async () => {
    const page = await gw.client().models.list();
    const ids = page.data.map((m) => m.id).sort();
    assert.deepEqual(ids, ['chat-cheapest', 'chat-default', 'chat-fastest', 'claude-sonnet-4-5', 'gemini-2.5-flash', 'gpt-4o-mini']);
    assert.ok(page.data.every((m) => m.object === 'model'));
  });
});

describe('callers and models', () => {
  test('missing or wrong key: 401 in OpenAI format', async () => {
    await assert.rejects(gw.client({ apiKey: 'sk-wrong' }).chat.completions.create({ model: 'gpt-4o-mini', messages: hello }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.AuthenticationError);
      assert.equal(err.status, 401);
      assert.equal(err.code, 'invalid_api_key');
      assert.ok(!String(err.message).includes('sk-wrong'), 'the key is not echoed');
      return true;
    });
    const res = await gw.raw('/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(res.status, 401);
    const body = (await res.json()) as { error: Record<string, unknown> };
    assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'param', 'type']);
  });

  test('unknown model: 404 model_not_found without naming providers', async () => {
    await assert.rejects(gw.client().chat.completions.create({ model: 'gpt-9', messages: hello }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.NotFoundError);
      assert.equal(err.code, 'model_not_found');
      assert.equal(err.param, 'model');
      assert.ok(!/openai-primary|anthropic|gemini|127\.0\.0\.1/.test(err.message));
      return true;
    });
  });

  test('unknown path: OpenAI-style 404', async () => {
    const res = await gw.raw('/v1/embeddings', { method: 'POST', headers: authHeaders(gw), body: '{}' });
    assert.equal(res.status, 404);
    const body = (await res.json()) as { error: { type: string; code: string } };
    assert.equal(body.error.code, 'unknown_url');
  });
});

describe('failover through Envoy retries', () => {
  for (const status of [429, 500, 503]) {
    test(`primary ${status} → the backup provider answers`, async () => {
      resetSims();
      gw.sims['openai-primary']!.enqueueFault({ status, retryAfter: 3 });
      const res = await gw.client().chat.completions.create({ model: 'gpt-4o-mini', messages: hello });
      assert.equal(res.choices[0]!.finish_reason, 'stop');
      assert.equal(gw.sims['openai-primary']!.requests.length, 1);
      const backup = gw.sims['openai-backup']!.requests;
      assert.equal(backup.length, 1);
      // Each attempt is translated afresh: the backup's own key, not the primary's.
      assert.match(backup[0]!.headers.authorization ?? '', /^Bearer sim-openai-backup-/);
    });
  }

  test('40 callers at once on a failing primary: every one fails over (no retry overflow)', async () => {
    resetSims();
    // The primary holds every request, then all fail together: 40 retries in flight at once,
    // past Envoy's default of 3 per cluster (envoy.yaml circuit_breakers).
    for (let i = 0; i < 40; i++) gw.sims['openai-primary']!.enqueueFault({ status: 500, latencyMs: 300 });
    const overflow = async (): Promise<number> => {
      const text = await (await fetch(`${gw.adminUrl}/stats?filter=upstream_rq_retry_overflow$`)).text();
      return [...text.matchAll(/: (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    };
    const before = await overflow();
    const client = gw.client();
    const answers = await Promise.allSettled(Array.from({ length: 40 }, () => client.chat.completions.create({ model: 'gpt-4o-mini', messages: hello })));
    const failed = answers.filter((a) => a.status === 'rejected').map((a) => String((a as PromiseRejectedResult).reason));
    assert.deepEqual(failed, [], 'every caller is answered by the backup');
    assert.equal(gw.sims['openai-primary']!.requests.length, 40);
    assert.equal(gw.sims['openai-backup']!.requests.length, 40);
    assert.equal(await overflow(), before, 'no retry was dropped by a circuit breaker');
  });

  test('primary reset before headers → backup answers, streamed', async () => {
    resetSims();
    gw.sims['openai-primary']!.enqueueFault({ resetBeforeHeaders: true });
    const stream = await gw.client().chat.completions.create({ model: 'gpt-4o-mini', messages: hello, stream: true });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    assert.ok(text.length > 0);
    assert.equal(gw.sims['openai-backup']!.requests.length, 1);
  });

  test('every provider rate limited: clean 429 with retry-after passed through', async () => {
    resetSims();
    gw.sims['openai-primary']!.enqueueFault({ status: 429, retryAfter: 7 });
    gw.sims['openai-backup']!.enqueueFault({ status: 429, retryAfter: 7 });
    const res = await gw.raw('/v1/chat/completions', { method: 'POST', headers: authHeaders(gw), body: JSON.stringify({ model: 'gpt-4o-mini', messages: hello }) });
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), '7');
    const body = (await res.json()) as { error: { type: string; message: string; code: string | null } };
    assert.equal(body.error.type, 'rate_limit_error');
    assert.ok(!/sim-|127\.0\.0\.1|openai-backup/.test(body.error.message));
    // Provider headers stay inside.
    assert.equal(res.headers.get('x-envoy-upstream-service-time'), null);
  });

  test('every provider failing: clean OpenAI-style 5xx', async () => {
    resetSims();
    gw.sims['openai-primary']!.enqueueFault({ status: 500 });
    gw.sims['openai-backup']!.enqueueFault({ status: 503 });
    await assert.rejects(gw.client().chat.completions.create({ model: 'gpt-4o-mini', messages: hello }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.APIError);
      assert.ok(err.status! >= 500, String(err.status));
      assert.ok(typeof err.message === 'string' && err.message.length > 0);
      return true;
    });
  });

  test('reset mid-stream: the client sees an error, the gateway keeps serving', async () => {
    resetSims();
    // The delay lets the first events reach the client before the provider resets the stream.
    gw.sims['openai-primary']!.enqueueFault({ resetAfterEvents: 3, chunks: 8, chunkDelayMs: 100 });
    const stream = await gw.client().chat.completions.create({ model: 'gpt-4o-mini', messages: hello, stream: true });
    let received = 0;
    await assert.rejects(async () => {
      for await (const c of stream) received += c.choices.length;
    });
    assert.ok(received > 0, 'the stream had started');

    // Every provider resetting before its response headers: a clean OpenAI-style 503 instead.
    gw.sims['openai-primary']!.enqueueFault({ resetBeforeHeaders: true });
    gw.sims['openai-backup']!.enqueueFault({ resetBeforeHeaders: true });
    const early = await gw.raw('/v1/chat/completions', { method: 'POST', headers: authHeaders(gw), body: JSON.stringify({ model: 'gpt-4o-mini', messages: hello, stream: true }) });
    assert.ok(early.status >= 500, String(early.status));
    const body = (await early.json()) as { error: { code: string } };
    assert.equal(body.error.code, 'upstream_unavailable');
    const res = await gw.client().chat.completions.create({ model: 'gpt-4o-mini', messages: hello });
    assert.equal(res.choices[0]!.finish_reason, 'stop');
  });
});

describe('request logs', () => {
  test('one JSON line per request, with no prompt text and no secrets', async () => {
    resetSims();
    await gw.client().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'zebra-secret-prompt' }] });
    // The line is written when Envoy closes the stream, just after the response.
    let lines: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 50; i++) {
      lines = gw.logLines().filter((l) => l.msg === 'request');
      if (lines.length > 0 && lines.some((l) => l.status === 200 && l.tokens_in !== undefined)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const line = lines.filter((l) => l.status === 200 && l.tokens_in !== undefined).at(-1)!;
    for (const k of ['request_id', 'key_name', 'team', 'model', 'provider', 'provider_model', 'status', 'tokens_in', 'tokens_out', 'latency_ms', 'attempts']) {
      assert.ok(k in line, `log line has ${k}: ${JSON.stringify(line)}`);
    }
    assert.equal(line.key_name, 'demo');
    const all = gw.logLines().map((l) => JSON.stringify(l)).join('\n');
    assert.ok(!all.includes('zebra-secret-prompt'));
    assert.ok(!all.includes(gw.demoKey));
    assert.ok(!/sim-openai-primary-[0-9a-f]/.test(all));
  });
});
