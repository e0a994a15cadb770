import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { DEMO_ENV, DEMO_KEY, scratchDir, smallConfig } from '../support/unit/config.ts';
import { bodyMessage, headersMessage, immediate, openAIError, phaseMutation, syncReply } from '../support/unit/ext-proc.ts';
import { PROMPT_CANARY, admit, admitHeaders, attempt, chatBody, chatHeaders, harness, responseBody } from '../support/unit/gateway.ts';
import { wireBytes, wireText } from '../support/unit/bytes.ts';
import { assertStreamMatches, normalizeStream } from '../support/openai-compare.ts';

const h = harness();
after(() => h.close());

const SECRETS = [DEMO_KEY, ...Object.values(DEMO_ENV).map(String)];

function rejectAtHeaders(headers: Record<string, string>, endOfStream = false) {
  const router = h.router();
  const res = immediate(router.handle(headersMessage('request_headers', headers, endOfStream)));
  const error = openAIError(res.json);
  assert.equal(res.headers['content-type'], 'application/json');
  return { res, error, router };
}

describe('request headers: rejected before anything is held', () => {
  test('401 without a key: OpenAI error body, nothing registered, nothing logged', () => {
    const before = h.registry.size;
    const headers = chatHeaders();
    delete headers['authorization'];
    const { res, error, router } = rejectAtHeaders(headers);
    assert.equal(res.status, 401);
    assert.deepEqual({ type: error.type, code: error.code, param: error.param }, { type: 'invalid_request_error', code: 'missing_api_key', param: null });
    assert.equal(res.details, 'llm_extproc_missing_api_key');
    assert.equal(h.registry.size, before);
    router.close('done');
  });

  test('401 with a non-Bearer scheme counts as missing', () => {
    const { res, error } = rejectAtHeaders(chatHeaders({ authorization: `Basic ${DEMO_KEY}` }));
    assert.equal(res.status, 401);
    assert.equal(error.code, 'missing_api_key');
    assert.ok(!res.body.includes(DEMO_KEY));
  });

  test('401 with a wrong key never echoes the key, not even in part', () => {
    const wrong = 'sk-wrong-0123456789abcdefWXYZ';
    const { res, error } = rejectAtHeaders(chatHeaders({ authorization: `Bearer ${wrong}` }));
    assert.equal(res.status, 401);
    assert.equal(error.code, 'invalid_api_key');
    for (const fragment of [wrong, wrong.slice(0, 8), wrong.slice(-4), 'sk-']) assert.ok(!res.body.includes(fragment), fragment);
    assert.ok(!res.details.includes(wrong));
  });

  test('GET /v1/models answers the pre-rendered list', () => {
    const router = h.router();
    const res = immediate(router.handle(headersMessage('request_headers', chatHeaders({ ':method': 'GET', ':path': '/v1/models' }), true)));
    assert.equal(res.status, 200);
    assert.equal(res.body, h.configs.current.modelsListBody);
    assert.equal(res.headers['content-type'], 'application/json');
  });

  test('/v1/models needs a key too', () => {
    const headers = chatHeaders({ ':method': 'GET', ':path': '/v1/models' });
    delete headers['authorization'];
    assert.equal(rejectAtHeaders(headers, true).res.status, 401);
  });

  test('unknown path → 404 unknown_url (query string ignored for known paths)', () => {
    const { res, error } = rejectAtHeaders(chatHeaders({ ':path': '/v1/completions' }));
    assert.equal(res.status, 404);
    assert.equal(error.code, 'unknown_url');
    const ok = h.router();
    admitHeaders(ok, chatHeaders({ ':path': '/v1/chat/completions?x=1' }));
    ok.close('cancelled');
  });

  test('405 for the wrong method on either path', () => {
    assert.equal(rejectAtHeaders(chatHeaders({ ':method': 'GET' })).res.status, 405);
    const { res, error } = rejectAtHeaders(chatHeaders({ ':method': 'POST', ':path': '/v1/models' }));
    assert.equal(res.status, 405);
    assert.equal(error.code, 'method_not_allowed');
  });

  test('415 for a non-JSON content type; JSON variants are accepted', () => {
    const { res, error } = rejectAtHeaders(chatHeaders({ 'content-type': 'text/plain' }));
    assert.equal(res.status, 415);
    assert.equal(error.code, 'unsupported_media_type');
    for (const [i, ct] of ['application/json; charset=utf-8', 'Application/JSON', 'application/vnd.api+json'].entries()) {
      const router = h.router();
      admitHeaders(router, chatHeaders({ 'content-type': ct, 'x-request-id': `ct-${i}` }));
      router.close('cancelled');
    }
  });

  test('413 when content-length is over maxBodyBytes', () => {
    const { res, error } = rejectAtHeaders(chatHeaders({ 'content-length': String(h.configs.current.maxBodyBytes + 1) }));
    assert.equal(res.status, 413);
    assert.equal(error.code, 'request_too_large');
  });

  test('400 when the request has no body', () => {
    const { res, error } = rejectAtHeaders(chatHeaders(), true);
    assert.equal(res.status, 400);
    assert.equal(error.code, 'invalid_json');
  });
});

describe('request headers: accepted', () => {
  test('strips x-llmx-*, x-envoy-* (any case), authorization and every header off the allowlist', () => {
    const router = h.router();
    const m = phaseMutation(
      router.handle(
        headersMessage(
          'request_headers',
          chatHeaders({
            'x-request-id': 'req-strip',
            'x-llmx-try-1': 'gemini',
            'X-LLMX-Local-Reply': 'x',
            'x-envoy-max-retries': '10',
            'X-Envoy-Upstream-Rq-Timeout-Ms': '1',
            'x-custom': 'drop',
            traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
          }),
        ),
      ),
      'request_headers',
    );
    for (const name of ['authorization', 'x-llmx-try-1', 'x-llmx-local-reply', 'x-envoy-max-retries', 'x-envoy-upstream-rq-timeout-ms', 'x-custom']) {
      assert.ok(m.remove.includes(name), name);
    }
    for (const name of ['traceparent', 'content-type', 'x-request-id', ':path']) assert.ok(!m.remove.includes(name), name);
    assert.ok(m.remove.every((n) => n === n.toLowerCase()));
    assert.deepEqual(Object.keys(m.set), ['x-request-id', 'user-agent']);
    const id = m.set['x-request-id']!;
    assert.ok(h.registry.get(id));
    router.close('cancelled');
    assert.equal(h.registry.get(id), undefined);
  });

  test("the request id is the gateway's own, written over the caller's x-request-id", () => {
    const a = h.router();
    const b = h.router();
    const first = admitHeaders(a, chatHeaders({ 'x-request-id': 'chosen-by-caller' }));
    const second = admitHeaders(b, chatHeaders({ 'x-request-id': 'chosen-by-caller' }));
    assert.notEqual(first.id, 'chosen-by-caller');
    assert.notEqual(first.id, second.id);
    assert.equal(h.registry.get('chosen-by-caller'), undefined);
    assert.equal(h.registry.get(first.id)!.clientRequestId, 'chosen-by-caller');
    assert.ok(h.registry.get(second.id));
    a.close('cancelled');
    b.close('cancelled');
  });

  test('503 gateway_overloaded with retry-after when the registry is full', () => {
    const small = harness({ capacity: 1 });
    try {
      const first = small.router();
      admitHeaders(first);
      const res = immediate(small.router().handle(headersMessage('request_headers', chatHeaders())));
      assert.equal(res.status, 503);
      assert.equal(res.headers['retry-after'], '1');
      assert.equal(openAIError(res.json).code, 'gateway_overloaded');
      first.close('cancelled');
    } finally {
      small.close();
    }
  });
});

describe('request body', () => {
  test('sets the plan headers, prepares attempt 1 for the first target and clears the route cache', () => {
    const router = h.router();
    const { id, plan: m } = admit(router, chatBody('chat-default'));
    const ex = h.registry.get(id)!;
    const translated = ex.translationFor(0);
    assert.deepEqual(m.set, {
      'x-llmx-try-1': 'anthropic',
      'x-llmx-try-2': 'gemini',
      'x-llmx-try-3': 'openai-primary',
      'x-envoy-max-retries': '2',
      'x-envoy-attempt-count': '0',
      ':path': '/v1/messages',
      'content-length': String(translated.body.length),
      'content-type': 'application/json',
      'anthropic-version': '2023-06-01',
      'x-api-key': DEMO_ENV.SIM_ANTHROPIC_KEY,
      // Not a stream: every coding the gateway decodes (content-decoding.ts).
      'accept-encoding': 'gzip, deflate, br',
    });
    // The slots stay: Envoy's matcher reads x-llmx-try-1 when it re-resolves the route.
    assert.ok(!m.remove.some((n) => n.startsWith('x-llmx-try-')));
    assert.equal(m.clearRouteCache, true);
    assert.deepEqual(m.body, Buffer.from(translated.body), 'the body is translated for the first target');
    assert.deepEqual(
      ex.attempts.map((a) => [a.provider.name, a.number]),
      [['anthropic', 1]],
    );
    router.close('cancelled');
  });

  test('an OpenAI first target whose body already fits keeps the caller body and its length', () => {
    const router = h.router();
    const body = chatBody('gpt-4o-mini');
    const { plan: m } = admit(router, body);
    assert.equal(m.body, undefined);
    assert.equal(m.set[':path'], '/v1/chat/completions');
    assert.equal(m.set['content-length'], String(Buffer.byteLength(body)));
    assert.match(m.set['authorization'] ?? '', /^Bearer /);
    router.close('cancelled');
  });

  test('unknown model → 404 model_not_found with param model and the request id', () => {
    const router = h.router();
    const { id } = admitHeaders(router);
    const res = immediate(router.handle(bodyMessage('request_body', chatBody('gpt-9'))));
    assert.equal(res.status, 404);
    const error = openAIError(res.json);
    assert.deepEqual({ code: error.code, param: error.param }, { code: 'model_not_found', param: 'model' });
    assert.match(error.message, /gpt-9/);
    assert.equal(res.headers['x-request-id'], id);
    router.close('done');
  });

  test('malformed JSON → 400 invalid_json', () => {
    const router = h.router();
    admitHeaders(router);
    const res = immediate(router.handle(bodyMessage('request_body', '{"model":')));
    assert.equal(res.status, 400);
    assert.equal(openAIError(res.json).code, 'invalid_json');
    router.close('done');
  });

  test('413 when the body itself is over maxBodyBytes (no content-length)', () => {
    const scratch = scratchDir();
    const small = harness({
      configFile: scratch.write('g.yaml', smallConfig({ server: 'server:\n  maxBodyBytes: 1024\n', keys: 'keys:\n  - { name: t, fromEnv: K }\n' })),
      env: { P1_KEY: 'x', K: DEMO_KEY },
    });
    try {
      const router = small.router();
      admitHeaders(router);
      const res = immediate(router.handle(bodyMessage('request_body', chatBody('m1', { pad: 'x'.repeat(2000) }))));
      assert.equal(res.status, 413);
      assert.equal(openAIError(res.json).code, 'request_too_large');
      router.close('done');
    } finally {
      small.close();
      scratch.cleanup();
    }
  });
});

describe('response phases', () => {
  test('JSON: provider headers dropped, model = public name, id = chatcmpl-…, status and length set', () => {
    const router = h.router();
    const { id } = admit(router, chatBody('gpt-4o-mini'));
    attempt(h, id, 'openai-primary', 1);
    const ex = h.registry.get(id)!;
    const res = syncReply(router.handle(
      headersMessage('response_headers', {
        ':status': '200',
        'content-type': 'application/json',
        'content-length': '999',
        'x-request-id': 'req_provider_123',
        'openai-organization': 'org-secret',
        'x-ratelimit-remaining-tokens': '12',
        'set-cookie': 'a=b',
        date: 'Tue, 01 Jan 2030 00:00:00 GMT',
      }),
    ));
    assert.deepEqual(res['mode_override'], { response_body_mode: 2 });
    const hm = phaseMutation(res, 'response_headers');
    assert.equal(hm.set['x-request-id'], id);
    assert.equal(hm.set['content-type'], 'application/json');
    assert.match(hm.set['x-gateway-overhead-ms']!, /^\d+\.\d{3}$/);
    for (const name of ['content-length', 'openai-organization', 'x-ratelimit-remaining-tokens', 'set-cookie']) assert.ok(hm.remove.includes(name), name);
    for (const name of [':status', 'content-type', 'date']) assert.ok(!hm.remove.includes(name), name);

    const { text, last } = responseBody(router, [wireBytes('openai/chat_text.json')]);
    const completion = JSON.parse(text) as Record<string, unknown>;
    assert.equal(completion['model'], 'gpt-4o-mini');
    assert.equal(completion['id'], ex.completionId);
    assert.match(String(completion['id']), /^chatcmpl-[0-9a-f]{24}$/);
    assert.equal(completion['object'], 'chat.completion');
    // x-gateway-cost-usd: gpt-4o-mini's catalogue price, 112 uncached × $0.15 + 1,792 cached × $0.075 + 23 output × $0.60 per 1M tokens.
    assert.deepEqual(last.set, { ':status': '200', 'content-length': String(Buffer.byteLength(text)), 'x-gateway-cost-usd': '0.000165' });
    assert.deepEqual(ex.usage, { promptTokens: 1904, completionTokens: 23, cachedTokens: 1792, reasoningTokens: 0 });
    router.close('done');
  });

  test('stream: mode_override STREAMED, SSE headers, chunks translated in order', () => {
    const router = h.router();
    const { id } = admit(router, chatBody('gpt-4o-mini', { stream: true, stream_options: { include_usage: true } }));
    attempt(h, id, 'openai-primary', 1);
    const ex = h.registry.get(id)!;
    const res = syncReply(router.handle(headersMessage('response_headers', { ':status': '200', 'content-type': 'text/event-stream; charset=utf-8' })));
    assert.deepEqual(res['mode_override'], { response_body_mode: 1 });
    const hm = phaseMutation(res, 'response_headers');
    assert.equal(hm.set['content-type'], 'text/event-stream; charset=utf-8');
    assert.equal(hm.set['cache-control'], 'no-cache');

    const bytes = wireBytes('openai/stream_text.sse');
    const cuts = [0, 101, 1777, 3001, bytes.length];
    const pieces = cuts.slice(1).map((end, i) => bytes.subarray(cuts[i]!, end));
    const { text, last } = responseBody(router, pieces);
    assertStreamMatches(wireText('openai/stream_text.sse'), text);
    const chunks = text.split('\n\n').filter((e) => e.startsWith('data: {')).map((e) => JSON.parse(e.slice(6)) as Record<string, unknown>);
    assert.ok(chunks.length > 0);
    for (const c of chunks) {
      assert.equal(c['id'], ex.completionId);
      assert.equal(c['model'], 'gpt-4o-mini');
    }
    assert.deepEqual(last.set, {}, 'no header changes mid-stream');
    assert.deepEqual(ex.usage, { promptTokens: 29, completionTokens: 14, cachedTokens: 0, reasoningTokens: 0 });
    router.close('done');
  });

  test('stream without include_usage: the usage chunk the gateway forced on is dropped', () => {
    const router = h.router();
    const { id } = admit(router, chatBody('gpt-4o-mini', { stream: true }));
    attempt(h, id, 'openai-primary', 1);
    router.handle(headersMessage('response_headers', { ':status': '200', 'content-type': 'text/event-stream' }));
    const { text } = responseBody(router, [wireBytes('openai/stream_text.sse')]);
    assert.doesNotMatch(text, /"usage"/);
    assert.deepEqual(normalizeStream(text).problems, []);
    router.close('done');
  });

  for (const [upstream, expected, type] of [
    [401, 502, 'api_error'],
    [403, 502, 'api_error'],
    [404, 502, 'api_error'],
    [500, 502, 'api_error'],
    [529, 503, 'service_unavailable_error'],
    [504, 504, 'timeout_error'],
  ] as const) {
    test(`provider ${upstream} → ${expected} ${type}, without the provider's words`, () => {
      const router = h.router();
      const { id } = admit(router, chatBody('gpt-4o-mini'));
      attempt(h, id, 'openai-primary', 1);
      const res = syncReply(router.handle(headersMessage('response_headers', { ':status': String(upstream), 'content-type': 'application/json' })));
      assert.deepEqual(res['mode_override'], { response_body_mode: 2 });
      const providerBody = JSON.stringify({ error: { message: `Incorrect API key provided: ${DEMO_ENV.SIM_OPENAI_PRIMARY_KEY}`, type: 'invalid_request_error', code: 'invalid_api_key' } });
      const { text, last } = responseBody(router, [providerBody]);
      assert.equal(last.set[':status'], String(expected));
      assert.equal(last.set['content-length'], String(Buffer.byteLength(text)));
      const error = openAIError(JSON.parse(text));
      assert.equal(error.type, type);
      for (const s of SECRETS) assert.ok(!text.includes(s));
      assert.equal(h.registry.get(id)!.status, expected);
      router.close('done');
    });
  }

  test('provider 429 keeps 429 and passes retry-after on', () => {
    const router = h.router();
    const { id } = admit(router, chatBody('gpt-4o-mini'));
    attempt(h, id, 'openai-primary', 1);
    const headers = JSON.parse(wireText('openai/error_rate_limit.headers.json')) as { headers: Record<string, string> };
    const hm = phaseMutation(router.handle(headersMessage('response_headers', { ':status': '429', ...headers.headers })), 'response_headers');
    // The provider's own header goes; the error mapping sets the caller's (429/503 only) below.
    assert.ok(hm.remove.includes('retry-after'));
    assert.ok(hm.remove.includes('x-ratelimit-remaining-tokens'));
    const { text, last } = responseBody(router, [wireBytes('openai/error_rate_limit.json')]);
    assert.equal(last.set[':status'], '429');
    assert.equal(last.set['retry-after'], '1');
    const error = openAIError(JSON.parse(text));
    assert.deepEqual([error.type, error.code], ['rate_limit_error', 'rate_limit_exceeded']);
    assert.doesNotMatch(text, /org-/);
    router.close('done');
  });

  test('a 200 that is not a completion → 502 upstream_malformed', () => {
    const router = h.router();
    const { id } = admit(router, chatBody('gpt-4o-mini'));
    attempt(h, id, 'openai-primary', 1);
    router.handle(headersMessage('response_headers', { ':status': '200', 'content-type': 'application/json' }));
    const { text, last } = responseBody(router, ['<html>oops</html>']);
    assert.equal(last.set[':status'], '502');
    assert.equal(openAIError(JSON.parse(text)).code, 'upstream_malformed');
    router.close('done');
  });

  test('response headers with end_of_stream: 200 → 502 upstream_empty; an error status maps directly', () => {
    for (const [status, expected, code] of [
      ['200', 502, 'upstream_empty'],
      ['429', 429, 'rate_limit_exceeded'],
    ] as const) {
      const router = h.router();
      const { id } = admit(router, chatBody('gpt-4o-mini'));
      attempt(h, id, 'openai-primary', 1);
      const res = immediate(router.handle(headersMessage('response_headers', { ':status': status, 'retry-after': '3' }, true)));
      assert.equal(res.status, expected);
      assert.equal(openAIError(res.json).code, code);
      assert.equal(res.headers['x-request-id'], id);
      router.close('done');
    }
  });

  test("Envoy's local reply (marker header) passes through untranslated; the marker is stripped", () => {
    const router = h.router();
    const { id } = admit(router, chatBody('gpt-4o-mini'));
    const res = syncReply(router.handle(
      headersMessage('response_headers', { ':status': '503', 'content-type': 'application/json', 'content-length': '140', 'x-llmx-local-reply': 'upstream_unavailable' }),
    ));
    assert.equal(res['mode_override'], undefined, 'no body phase: the body is already OpenAI JSON');
    const hm = phaseMutation(res, 'response_headers');
    assert.ok(hm.remove.includes('x-llmx-local-reply'));
    assert.ok(!hm.remove.includes('content-length'));
    assert.equal(hm.set['x-request-id'], id);
    assert.equal(hm.set['x-llmx-local-reply'], undefined);
    router.close('done');
    const line = h.lines().at(-1)!;
    assert.deepEqual([line['provider'], line['error_code'], line['status'], line['outcome']], ['envoy', 'upstream_unavailable', 503, 'failed']);
  });


  test("Envoy's own 413 before the body phase (a chunked body over its buffer limit) passes through, not a 500", () => {
    const router = h.router();
    const { id } = admitHeaders(router);
    const res = syncReply(router.handle(headersMessage('response_headers', { ':status': '413', 'content-type': 'application/json', 'content-length': '150' })));
    assert.equal(res['immediate_response'], undefined);
    assert.equal(res['mode_override'], undefined, 'its body is already OpenAI JSON');
    const hm = phaseMutation(res, 'response_headers');
    assert.equal(hm.set['x-request-id'], id);
    assert.ok(!hm.remove.includes('content-length'));
    router.close('done');
    const line = h.lines().at(-1)!;
    assert.deepEqual([line['provider'], line['error_code'], line['status']], ['envoy', 'request_too_large', 413]);
  });

  test('trailers are acknowledged', () => {
    const router = h.router();
    assert.deepEqual(router.handle({ request_trailers: {} }), { request_trailers: {} });
    assert.deepEqual(router.handle({ response_trailers: {} }), { response_trailers: {} });
  });

  test('a body before the headers is a protocol error (500)', () => {
    const router = h.router();
    const res = immediate(router.handle(bodyMessage('request_body', chatBody('gpt-4o-mini'))));
    assert.equal(res.status, 500);
    assert.equal(openAIError(res.json).code, 'extproc_protocol');
  });
});

describe('close', () => {
  test('removes the exchange and writes one request line with the expected fields, no prompt text or keys', () => {
    const mem = harness();
    try {
      const router = mem.router();
      const { id } = admit(router, chatBody('gpt-4o-mini', { stream: true }), chatHeaders({ 'x-request-id': 'req-log' }));
      attempt(mem, id, 'openai-primary', 1);
      router.handle(headersMessage('response_headers', { ':status': '200', 'content-type': 'text/event-stream' }));
      responseBody(router, [wireBytes('openai/stream_text.sse')]);
      assert.ok(mem.registry.get(id));
      const before = mem.raw.length;
      router.close('done');
      assert.equal(mem.registry.get(id), undefined);
      assert.equal(mem.registry.size, 0);
      const lines = mem.lines().slice(before);
      assert.equal(lines.length, 1);
      const line = lines[0]!;
      assert.equal(line['msg'], 'request');
      assert.equal(line['level'], 30);
      const { latency_ms, overhead_ms, time_to_first_token_ms, ...rest } = line;
      assert.equal(typeof latency_ms, 'number');
      assert.equal(typeof overhead_ms, 'number');
      assert.ok((overhead_ms as number) <= (latency_ms as number));
      // A stream: the first chunk went out before the end.
      assert.ok(typeof time_to_first_token_ms === 'number' && time_to_first_token_ms <= (latency_ms as number));
      for (const key of ['time', 'pid', 'hostname', 'service', 'level', 'msg']) delete rest[key];
      assert.deepEqual(rest, {
        request_id: id,
        client_request_id: 'req-log',
        key_name: 'demo',
        team: 'demo',
        model: 'gpt-4o-mini',
        provider: 'openai-primary',
        provider_model: 'gpt-4o-mini',
        status: 200,
        stream: true,
        outcome: 'completed',
        tokens_in: 29,
        tokens_out: 14,
        tokens_cached: 0,
        tokens_estimated: false,
        cost_usd: 0.00001275, // 29 × $0.15 + 14 × $0.60 per 1M tokens (gpt-4o-mini)
        attempts: 1,
      });
      const all = mem.raw.join('');
      assert.ok(!all.includes(PROMPT_CANARY), 'prompt text logged');
      assert.ok(!all.includes('Northwind'), 'completion text logged');
      for (const s of SECRETS) assert.ok(!all.includes(s), 'secret logged');
    } finally {
      mem.close();
    }
  });

  test('a stream cut short is logged as aborted', () => {
    const mem = harness();
    try {
      const router = mem.router();
      const { id } = admit(router, chatBody('gpt-4o-mini', { stream: true }));
      attempt(mem, id, 'openai-primary', 1);
      router.handle(headersMessage('response_headers', { ':status': '200', 'content-type': 'text/event-stream' }));
      router.handle(bodyMessage('response_body', wireBytes('openai/stream_text.sse').subarray(0, 500), false));
      router.close('cancelled');
      const line = mem.lines().at(-1)!;
      assert.equal(line['outcome'], 'aborted');
      assert.equal(mem.registry.size, 0);
    } finally {
      mem.close();
    }
  });

  test('an error answered by the gateway is logged with its code and status', () => {
    const mem = harness();
    try {
      const router = mem.router();
      admitHeaders(router);
      immediate(router.handle(bodyMessage('request_body', chatBody('nope'))));
      router.close('done');
      const line = mem.lines().at(-1)!;
      assert.deepEqual([line['status'], line['error_code'], line['outcome'], line['attempts']], [404, 'model_not_found', 'failed', 0]);
      assert.equal(line['key_name'], 'demo');
    } finally {
      mem.close();
    }
  });
});
