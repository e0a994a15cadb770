import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { loadConfigFile } from '../../src/config/loader.ts';
import { sha256Hex } from '../../src/config/runtime.ts';
import { clientRequestId, MAX_CLIENT_REQUEST_ID } from '../../src/exchange/client-request-id.ts';
import { retrievedModelName } from '../../src/exchange/models-endpoint.ts';
import type { ExtProcResponse } from '../../src/extproc/types.ts';
import { DEMO_KEY, scratchDir, smallConfig } from '../support/unit/config.ts';
import { headersMessage, immediate, openAIError, phaseMutation } from '../support/unit/ext-proc.ts';
import { admit, admitHeaders, attempt, chatBody, chatHeaders, harness } from '../support/unit/gateway.ts';

const ENV = { A_KEY: 'secret-a', O_KEY: 'secret-o' };
const scratch = scratchDir();
const configFile = scratch.write(
  'gateway.yaml',
  smallConfig({
    providers: [
      'providers:',
      '  claude: { dialect: anthropic, apiKeyEnv: A_KEY, forwardHeaders: [anthropic-beta], pricing: { free: true } }',
      '  oai: { dialect: openai, apiKeyEnv: O_KEY, pricing: { free: true } }',
      '',
    ].join('\n'),
    models: [
      'models:',
      '  failover:',
      '    targets:',
      '      - { provider: claude, model: claude-x }',
      '      - { provider: oai, model: gpt-x }',
      '  org/model:tag:',
      '    targets: [{ provider: oai, model: gpt-x }]',
      '    ownedBy: org',
      '',
    ].join('\n'),
    keys: `keys:\n  - { name: caller, sha256: ${sha256Hex(DEMO_KEY)} }\n`,
  }),
);
const h = harness({ configFile, env: ENV });
after(() => {
  h.close();
  scratch.cleanup();
});

/** The request-headers phase answers synchronously. */
function sync(res: ExtProcResponse | Promise<ExtProcResponse>): ExtProcResponse {
  assert.ok(!(res instanceof Promise));
  return res;
}

function get(path: string, method = 'GET') {
  const router = h.router();
  const res = immediate(sync(router.handle(headersMessage('request_headers', chatHeaders({ ':method': method, ':path': path }), true))));
  router.close('done');
  return res;
}

describe('GET /v1/models/{model}', () => {
  test('answers the same object the list holds, for names with / and :, encoded or not', () => {
    const list = JSON.parse(h.configs.current.modelsListBody) as { data: Array<{ id: string }> };
    const listed = list.data.find((m) => m.id === 'org/model:tag');
    for (const path of ['/v1/models/org/model:tag', '/v1/models/org%2Fmodel%3Atag', '/v1/models/org%2fmodel%3atag?x=1']) {
      const res = get(path);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers['content-type'], 'application/json');
      assert.ok(res.headers['x-request-id']);
      assert.deepEqual(res.json, listed, path);
      assert.deepEqual(Object.keys(res.json as object), ['id', 'object', 'created', 'owned_by', 'context_length', 'pricing']);
    }
    assert.deepEqual(get('/v1/models/failover').json, list.data.find((m) => m.id === 'failover'));
  });

  test('a model that does not exist is 404 model_not_found, worded as OpenAI does', () => {
    for (const path of ['/v1/models/nope', '/v1/models/', '/v1/models/%E0%A4%A', '/v1/models/gpt-x', '/v1/models/failover/']) {
      const res = get(path);
      assert.equal(res.status, 404, path);
      const error = openAIError(res.json);
      assert.deepEqual([error.type, error.code, error.param], ['invalid_request_error', 'model_not_found', 'model'], path);
      assert.match(error.message, /does not exist or you do not have access to it\.$/);
    }
    assert.ok(openAIError(get(`/v1/models/${'x'.repeat(5000)}`).json).message.length < 400, 'the echoed name is bounded');
  });

  test('other methods are 405, and a key is needed', () => {
    for (const method of ['POST', 'DELETE', 'PUT']) {
      const res = get('/v1/models/failover', method);
      assert.equal(res.status, 405, method);
      assert.equal(openAIError(res.json).code, 'method_not_allowed');
    }
    const headers = chatHeaders({ ':method': 'GET', ':path': '/v1/models/failover' });
    delete headers['authorization'];
    const router = h.router();
    assert.equal(immediate(sync(router.handle(headersMessage('request_headers', headers, true)))).status, 401);
    router.close('done');
  });

  test('the path parser', () => {
    assert.equal(retrievedModelName('/v1/models'), undefined);
    assert.equal(retrievedModelName('/v1/modelsx/a'), undefined);
    assert.equal(retrievedModelName('/v1/models/a%2Fb'), 'a/b');
    assert.equal(retrievedModelName('/v1/models/%zz'), '%zz');
  });
});

describe('caller headers towards providers', () => {
  const callerHeaders = {
    'anthropic-beta': 'caller-beta',
    'openai-organization': 'org-caller',
    'openai-project': 'proj-caller',
    'x-goog-user-project': 'caller-project',
    cookie: 'session=1',
    'user-agent': 'OpenAI/JS 5.0',
    'x-stainless-os': 'Linux',
    'x-forwarded-for': '10.0.0.7',
    baggage: 'tenant=internal',
    accept: 'application/json',
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    tracestate: 'vendor=x',
  };

  test('only the allowlist survives the request headers; per-provider headers wait for their attempt', () => {
    const router = h.router();
    const { headers: m } = admitHeaders(router, chatHeaders(callerHeaders));
    for (const name of ['anthropic-beta', 'openai-organization', 'openai-project', 'x-goog-user-project', 'cookie', 'x-stainless-os', 'x-forwarded-for', 'baggage', 'authorization']) {
      assert.ok(m.remove.includes(name), name);
    }
    for (const name of ['accept', 'traceparent', 'tracestate', 'content-type', ':path', ':authority', 'x-request-id', 'user-agent']) {
      assert.ok(!m.remove.includes(name), name);
    }
    assert.equal(m.set['user-agent'], 'llm-extproc', "the provider sees the gateway's user-agent, not the caller's");
    router.close('cancelled');
  });

  test("a header allowed for one provider reaches it, and not the next provider after a failover", () => {
    const router = h.router();
    const { id, plan } = admit(router, chatBody('failover'), chatHeaders(callerHeaders));
    // Attempt 1 (prepared by the router-level filter) goes to claude, which accepts anthropic-beta.
    assert.equal(plan.set['anthropic-beta'], 'caller-beta');
    assert.ok(!plan.remove.includes('anthropic-beta'));
    // Attempt 2 lands on oai: the shared header map still holds attempt 1's anthropic-beta.
    const retry = phaseMutation(attempt(h, id, 'oai', 2).res, 'request_headers');
    assert.ok(retry.remove.includes('anthropic-beta'));
    assert.equal(retry.set['anthropic-beta'], undefined);
    // And back on claude (a third attempt), it is set again.
    const again = phaseMutation(attempt(h, id, 'claude', 3).res, 'request_headers');
    assert.equal(again.set['anthropic-beta'], 'caller-beta');
    router.close('cancelled');
  });

  test('without the header, nothing is set for it', () => {
    const router = h.router();
    const { plan } = admit(router, chatBody('failover'));
    assert.equal(plan.set['anthropic-beta'], undefined);
    router.close('cancelled');
  });
});

describe("the caller's x-request-id, as logged", () => {
  test('kept as client_request_id, bounded to printable ASCII', () => {
    assert.equal(clientRequestId('  abc-123  '), 'abc-123');
    assert.equal(clientRequestId(''), undefined);
    assert.equal(clientRequestId(undefined), undefined);
    assert.equal(clientRequestId('a\nb\u0000c\u00e9'), 'a?b?c?');
    assert.equal(clientRequestId('x'.repeat(1000))!.length, MAX_CLIENT_REQUEST_ID);

    const router = h.router();
    const { id } = admitHeaders(router, chatHeaders({ 'x-request-id': `evil\n{"forged":true}${'y'.repeat(500)}` }));
    assert.notEqual(id, 'evil', "the gateway's own id goes upstream");
    router.close('cancelled');
    const line = h.lines().filter((l) => l['request_id'] === id).at(-1)!;
    const logged = String(line['client_request_id']);
    assert.ok(logged.startsWith('evil?{"forged":true}'), logged);
    assert.equal(logged.length, MAX_CLIENT_REQUEST_ID);
  });
});

describe('gateway.yaml forwardHeaders', () => {
  test('refuses auth, framing, Envoy and gateway headers, and names that are not lower-case', () => {
    for (const name of ['authorization', 'x-api-key', 'x-goog-api-key', 'content-length', 'host', 'x-request-id', 'x-envoy-max-retries', 'x-llmx-try-1', 'Anthropic-Beta']) {
      const file = scratch.write('bad.yaml', smallConfig({ providers: `providers:\n  p1: { dialect: openai, apiKeyEnv: P1_KEY, forwardHeaders: [${JSON.stringify(name)}] }\n` }));
      assert.throws(() => loadConfigFile(file, { P1_KEY: 'k' }, 1), /forwardHeaders/, name);
    }
    const ok = scratch.write('ok.yaml', smallConfig({ providers: 'providers:\n  p1: { dialect: openai, apiKeyEnv: P1_KEY, forwardHeaders: [openai-organization] }\n' }));
    const config = loadConfigFile(ok, { P1_KEY: 'k' }, 1);
    assert.deepEqual(config.providerForwardHeaders, ['openai-organization']);
  });
});
