import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { DEMO_ENV, DEMO_KEY, scratchDir } from '../support/unit/config.ts';
import { bodyMessage, headersMessage, immediate, openAIError, phaseMutation } from '../support/unit/ext-proc.ts';
import { admit, admitHeaders, attempt, chatBody, chatHeaders, harness, type Harness } from '../support/unit/gateway.ts';

const h = harness();
after(() => h.close());

/** Admits a request (chat-default: anthropic → gemini → openai-primary) and returns its id. */
function admitted(model = 'chat-default', extra: Record<string, unknown> = {}, on: Harness = h) {
  const router = on.router();
  const { id } = admit(router, chatBody(model, extra));
  return { router, id };
}

function noneSetAndRemoved(m: ReturnType<typeof phaseMutation>): void {
  for (const name of Object.keys(m.set)) assert.ok(!m.remove.includes(name), `${name} is both set and removed`);
  for (const [name, n] of m.setCount) assert.equal(n, 1, `${name} set ${n} times`);
}

describe('UpstreamProcessor: request headers', () => {
  test('attempt 1 in the anthropic cluster: path, length, provider auth, used slot removed; body translated', () => {
    const { router, id } = admitted();
    const { processor, res } = attempt(h, id, 'anthropic', 1);
    const m = phaseMutation(res, 'request_headers');
    assert.equal(res['mode_override'], undefined, 'the body phase is needed');
    const ex = h.registry.get(id)!;
    const translated = ex.translationFor(0);
    assert.equal(m.set[':path'], '/v1/messages');
    assert.equal(m.set['content-length'], String(translated.body.length));
    assert.equal(m.set['x-api-key'], DEMO_ENV.SIM_ANTHROPIC_KEY);
    assert.equal(m.set['anthropic-version'], '2023-06-01');
    assert.equal(m.set['content-type'], 'application/json');
    assert.equal(m.set['authorization'], undefined);
    assert.deepEqual(new Set(m.remove), new Set(['authorization', 'x-goog-api-key', 'api-key', 'x-llmx-try-1']));
    noneSetAndRemoved(m);
    assert.deepEqual(
      ex.attempts.map((a) => [a.provider.name, a.providerModel, a.number]),
      [['anthropic', 'claude-sonnet-4-5-20250929', 1]],
    );

    const body = phaseMutation(processor.handle(bodyMessage('request_body', chatBody('chat-default'))), 'request_body');
    assert.deepEqual(body.body, Buffer.from(translated.body));
    const sent = JSON.parse(body.body!.toString('utf8')) as Record<string, unknown>;
    assert.equal(sent['model'], 'claude-sonnet-4-5-20250929');
    assert.equal(sent['max_tokens'], 4096);
    router.close('cancelled');
  });

  test("failover: each attempt removes the previous attempt's auth headers and the used slots, keeps later slots", () => {
    const { router, id } = admitted();
    attempt(h, id, 'anthropic', 1);
    const second = attempt(h, id, 'gemini', 2, { 'x-api-key': DEMO_ENV.SIM_ANTHROPIC_KEY!, 'anthropic-version': '2023-06-01' });
    const m = phaseMutation(second.res, 'request_headers');
    assert.equal(m.set[':path'], '/v1beta/models/gemini-2.5-flash:generateContent');
    assert.equal(m.set['x-goog-api-key'], DEMO_ENV.SIM_GEMINI_KEY);
    assert.deepEqual(new Set(m.remove), new Set(['authorization', 'x-api-key', 'api-key', 'anthropic-version', 'x-llmx-try-1', 'x-llmx-try-2']));
    noneSetAndRemoved(m);
    const body = phaseMutation(second.processor.handle(bodyMessage('request_body', '')), 'request_body');
    assert.ok((JSON.parse(body.body!.toString('utf8')) as { contents?: unknown }).contents, 'a Gemini body');

    const third = attempt(h, id, 'openai-primary', 3, { 'x-goog-api-key': DEMO_ENV.SIM_GEMINI_KEY! });
    const m3 = phaseMutation(third.res, 'request_headers');
    assert.equal(m3.set[':path'], '/v1/chat/completions');
    assert.equal(m3.set['authorization'], `Bearer ${DEMO_ENV.SIM_OPENAI_PRIMARY_KEY}`);
    assert.deepEqual(new Set(m3.remove), new Set(['x-api-key', 'x-goog-api-key', 'api-key', 'anthropic-version', 'x-llmx-try-1', 'x-llmx-try-2', 'x-llmx-try-3']));
    const b3 = JSON.parse(phaseMutation(third.processor.handle(bodyMessage('request_body', '')), 'request_body').body!.toString('utf8')) as Record<string, unknown>;
    assert.equal(b3['model'], 'gpt-4o-mini', 'public name chat-default replaced by the provider model');

    const ex = h.registry.get(id)!;
    assert.deepEqual(ex.attempts.map((a) => a.provider.name), ['anthropic', 'gemini', 'openai-primary']);
    assert.equal(ex.lastAttempt!.provider.name, 'openai-primary');
    router.close('cancelled');
  });

  test('streams: gemini gets the SSE path', () => {
    const { router, id } = admitted('gemini-2.5-flash', { stream: true });
    const m = phaseMutation(attempt(h, id, 'gemini', 1).res, 'request_headers');
    assert.equal(m.set[':path'], '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
    router.close('cancelled');
  });

  test('an OpenAI target whose body already fits: no body phase, the body length kept', () => {
    const { router, id } = admitted('gpt-4o-mini');
    const callerLength = String(Buffer.byteLength(chatBody('gpt-4o-mini')));
    const { processor, res } = attempt(h, id, 'openai-primary', 1);
    assert.deepEqual(res['mode_override'], { request_body_mode: 0 });
    const m = phaseMutation(res, 'request_headers');
    assert.equal(m.set[':path'], '/v1/chat/completions');
    assert.equal(m.set['authorization'], `Bearer ${DEMO_ENV.SIM_OPENAI_PRIMARY_KEY}`);
    assert.ok(m.set['content-length'] === undefined || m.set['content-length'] === callerLength, m.set['content-length']);
    // If Envoy sends the body anyway, it goes on untouched.
    assert.equal(phaseMutation(processor.handle(bodyMessage('request_body', chatBody('gpt-4o-mini'))), 'request_body').body, undefined);
    router.close('cancelled');
  });

  test('an OpenAI stream without include_usage is rewritten to ask for usage', () => {
    const { router, id } = admitted('gpt-4o-mini', { stream: true });
    const { processor, res } = attempt(h, id, 'openai-primary', 1);
    assert.equal(res['mode_override'], undefined);
    const m = phaseMutation(res, 'request_headers');
    const body = phaseMutation(processor.handle(bodyMessage('request_body', '')), 'request_body').body!;
    assert.equal(m.set['content-length'], String(body.length));
    assert.deepEqual((JSON.parse(body.toString('utf8')) as { stream_options: unknown }).stream_options, { include_usage: true });
    router.close('cancelled');
  });

  test("a body-unchanged attempt after a translated one does not inherit the previous attempt's content-length", () => {
    // Envoy shares one header map between attempts: attempt 1's content-length is still there.
    const scratch = scratchDir();
    const mixed = harness({
      configFile: scratch.write(
        'g.yaml',
        [
          'providers:',
          '  anthropic: { dialect: anthropic, apiKeyEnv: SIM_ANTHROPIC_KEY }',
          '  openai-primary: { dialect: openai, apiKeyEnv: SIM_OPENAI_PRIMARY_KEY }',
          'models:',
          '  gpt-4o-mini:',
          '    targets:',
          '      - { provider: anthropic, model: claude-sonnet-4-5-20250929 }',
          '      - { provider: openai-primary, model: gpt-4o-mini }',
          'keys:',
          '  - { name: demo, fromEnv: GATEWAY_DEMO_KEY }',
          '',
        ].join('\n'),
      ),
    });
    try {
      const callerBody = chatBody('gpt-4o-mini');
      const router = mixed.router();
      const { id } = admit(router, callerBody, chatHeaders({ 'content-length': String(Buffer.byteLength(callerBody)) }));
      const first = phaseMutation(attempt(mixed, id, 'anthropic', 1).res, 'request_headers');
      const staleLength = first.set['content-length']!;
      assert.notEqual(staleLength, String(Buffer.byteLength(callerBody)));
      const second = phaseMutation(attempt(mixed, id, 'openai-primary', 2, { 'content-length': staleLength }).res, 'request_headers');
      const fixed = second.set['content-length'] === String(Buffer.byteLength(callerBody)) || second.remove.includes('content-length');
      assert.ok(fixed, `attempt 2 would send the caller's ${Buffer.byteLength(callerBody)}-byte body with content-length ${staleLength}`);
      router.close('cancelled');
    } finally {
      mixed.close();
      scratch.cleanup();
    }
  });

  test('the target comes from the attempt count; a cluster that disagrees falls back to its own target', () => {
    const { router, id } = admitted();
    // Attempt count 1 says slot 1 (anthropic), but Envoy is in the gemini cluster.
    phaseMutation(attempt(h, id, 'gemini', 1).res, 'request_headers');
    assert.equal(h.registry.get(id)!.lastAttempt!.providerModel, 'gemini-2.5-flash');
    router.close('cancelled');
  });

  test('a retry of the same target reuses the one translation', () => {
    const { router, id } = admitted();
    const a = attempt(h, id, 'anthropic', 1);
    const b = attempt(h, id, 'anthropic', 1);
    const bodyA = phaseMutation(a.processor.handle(bodyMessage('request_body', '')), 'request_body').body;
    const bodyB = phaseMutation(b.processor.handle(bodyMessage('request_body', '')), 'request_body').body;
    assert.deepEqual(bodyA, bodyB);
    // Attempt 1 prepared by the router-level filter and again here is still one attempt.
    assert.equal(h.registry.get(id)!.attempts.length, 1);
    router.close('cancelled');
  });

  test('without x-envoy-attempt-count the attempt number follows the attempts so far', () => {
    // Attempt 1 was prepared by the router-level filter; an upstream call without a count is a retry.
    const { router, id } = admitted('gpt-4o-mini');
    const m = phaseMutation(attempt(h, id, 'openai-backup', undefined).res, 'request_headers');
    assert.equal(m.set['authorization'], `Bearer ${DEMO_ENV.SIM_OPENAI_BACKUP_KEY}`);
    assert.deepEqual(h.registry.get(id)!.attempts.map((a) => a.number), [1, 2]);
    router.close('cancelled');
  });

  test("the caller's accept-encoding never reaches the provider (the response body must be translatable)", () => {
    const router = h.router();
    const { id, headers: rm } = admitHeaders(router, chatHeaders({ 'accept-encoding': 'gzip, deflate, br' }));
    phaseMutation(router.handle(bodyMessage('request_body', chatBody('gpt-4o-mini'))), 'request_body');
    const um = phaseMutation(attempt(h, id, 'openai-primary', 1, { 'accept-encoding': 'gzip, deflate, br' }).res, 'request_headers');
    const dropped = rm.remove.includes('accept-encoding') || um.remove.includes('accept-encoding') || um.set['accept-encoding'] === 'identity';
    assert.ok(dropped, 'a compressed provider response would reach the JSON/SSE translators as gzip bytes');
    router.close('cancelled');
  });

  test('the caller key never reaches the provider', () => {
    const router = h.router();
    const { id, headers: rm } = admitHeaders(router);
    assert.ok(rm.remove.includes('authorization'));
    phaseMutation(router.handle(bodyMessage('request_body', chatBody('gpt-4o-mini'))), 'request_body');
    const um = phaseMutation(attempt(h, id, 'openai-primary', 1).res, 'request_headers');
    assert.ok(!Object.values(um.set).some((v) => v.includes(DEMO_KEY)));
    router.close('cancelled');
  });
});

describe('UpstreamProcessor: no guessing', () => {
  function assert500(res: ReturnType<typeof attempt>['res'] | Promise<ReturnType<typeof attempt>['res']>, code: string): void {
    const r = immediate(res);
    assert.equal(r.status, 500);
    const error = openAIError(r.json);
    assert.equal(error.type, 'server_error');
    assert.equal(error.code, code);
    for (const s of Object.values(DEMO_ENV)) assert.ok(!r.body.includes(String(s)));
  }

  test('an unknown x-request-id is a clean 500 even when exactly one exchange is in flight', () => {
    const solo = harness();
    try {
      const { router, id } = admitted('gpt-4o-mini', {}, solo);
      assert.equal(solo.registry.size, 1);
      const before = solo.raw.length;
      assert500(attempt(solo, 'some-other-id', 'openai-primary', 2).res, 'exchange_state_missing');
      assert.equal(solo.registry.get(id)!.attempts.length, 1, 'only the first attempt, from the router-level filter');
      const logged = solo.lines().slice(before);
      assert.equal(logged.length, 1);
      assert.equal(logged[0]!['level'], 50);
      router.close('cancelled');
    } finally {
      solo.close();
    }
  });

  test('no x-request-id at all is a clean 500', () => {
    const processor = h.upstream('openai-primary');
    assert500(processor.handle(headersMessage('request_headers', { ':path': '/v1/chat/completions' })), 'exchange_state_missing');
  });

  test('an exchange whose body phase has not run is a clean 500', () => {
    const router = h.router();
    const { id } = admitHeaders(router);
    assert500(attempt(h, id, 'openai-primary', 1).res, 'exchange_state_missing');
    router.close('cancelled');
  });

  test('a cluster that is not a provider, or not a target of the model, is a clean 500', () => {
    const { router, id } = admitted('gpt-4o-mini');
    assert500(attempt(h, id, 'mystery', 1).res, 'unknown_cluster');
    assert500(attempt(h, id, 'gemini', 1).res, 'unplanned_cluster');
    router.close('cancelled');
  });

  test('a body before its headers is a clean 500', () => {
    assert500(h.upstream('gemini').handle(bodyMessage('request_body', '{}')), 'extproc_protocol');
  });

  test('response phases and trailers pass through untouched', () => {
    const p = h.upstream('gemini');
    assert.deepEqual(p.handle(headersMessage('response_headers', { ':status': '200' })), { response_headers: { response: {} } });
    assert.deepEqual(p.handle(bodyMessage('response_body', 'x')), { response_body: { response: {} } });
    assert.deepEqual(p.handle({ request_trailers: {} }), { request_trailers: {} });
    assert.deepEqual(p.handle({ response_trailers: {} }), { response_trailers: {} });
  });
});
