import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { authHeaders, hello, startTestStack, type TestStack } from '../support/e2e.ts';

// Issue 7 item 7 (endpoints and headers) and issue 12 item 8 (one error mapping), through the
// real Envoy with the official SDK. The demo topology, plus a model whose name has / and :,
// and an Anthropic provider that accepts the caller's anthropic-beta (and only it).
const CONFIG = `
providers:
  openai-primary: { dialect: openai, apiKeyEnv: SIM_OPENAI_PRIMARY_KEY }
  openai-backup: { dialect: openai, apiKeyEnv: SIM_OPENAI_BACKUP_KEY }
  anthropic: { dialect: anthropic, apiKeyEnv: SIM_ANTHROPIC_KEY, forwardHeaders: [anthropic-beta] }
  gemini: { dialect: gemini, apiKeyEnv: SIM_GEMINI_KEY }
models:
  gpt-4o-mini:
    targets: [{ provider: openai-primary, model: gpt-4o-mini }]
  claude-sonnet-4-5:
    targets: [{ provider: anthropic, model: claude-sonnet-4-5-20250929 }]
  gemini-2.5-flash:
    targets: [{ provider: gemini, model: gemini-2.5-flash }]
  claude-then-openai:
    targets:
      - { provider: anthropic, model: claude-sonnet-4-5-20250929 }
      - { provider: openai-primary, model: gpt-4o-mini }
  acme/llama-3:8b-instruct:
    targets: [{ provider: openai-backup, model: gpt-4o-mini }]
    ownedBy: acme
keys:
  - { name: demo, team: demo, fromEnv: GATEWAY_DEMO_KEY }
`;

let gw: TestStack;
let dir: string;
before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'llmx-endpoints-'));
  const configFile = path.join(dir, 'gateway.yaml');
  writeFileSync(configFile, CONFIG);
  gw = await startTestStack({ configFile });
});
after(async () => {
  await gw?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The SDK's error for a call that must fail. */
async function apiError(call: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    await call;
  } catch (err) {
    assert.ok(err instanceof OpenAI.APIError, String(err));
    return err;
  }
  assert.fail('the call should have failed');
}

function resetSims(): void {
  for (const sim of Object.values(gw.sims)) sim.reset();
}

describe('GET /v1/models/{model}', () => {
  test("client.models.retrieve() returns the list's own object, also for names with / and :", async () => {
    const client = gw.client();
    const list = await client.models.list();
    for (const id of ['gpt-4o-mini', 'acme/llama-3:8b-instruct']) {
      const model = await client.models.retrieve(id);
      const { _request_id, ...fields } = model as typeof model & { _request_id?: unknown };
      assert.deepEqual(fields, list.data.find((m) => m.id === id), id);
    }
    assert.equal((await client.models.retrieve('acme/llama-3:8b-instruct')).owned_by, 'acme');
    // Not encoded, as curl users type it.
    const raw = await gw.raw('/v1/models/acme/llama-3:8b-instruct', { headers: authHeaders(gw) });
    assert.equal(raw.status, 200);
    assert.equal(((await raw.json()) as { id: string }).id, 'acme/llama-3:8b-instruct');
  });

  test('an unknown model is 404 model_not_found; other methods are 405', async () => {
    const err = await apiError(gw.client().models.retrieve('no-such/model:x'));
    assert.equal(err.status, 404);
    assert.equal(err.code, 'model_not_found');
    assert.ok(err.headers?.get('x-request-id'));
    const del = await gw.raw('/v1/models/gpt-4o-mini', { method: 'DELETE', headers: authHeaders(gw) });
    assert.equal(del.status, 405);
    assert.equal(((await del.json()) as { error: { code: string } }).error.code, 'method_not_allowed');
  });
});

describe('caller headers that reach providers', () => {
  const callerHeaders = {
    'openai-organization': 'org-caller',
    'openai-project': 'proj-caller',
    'anthropic-beta': 'caller-beta',
    'x-goog-user-project': 'caller-project',
    cookie: 'session=caller',
    'x-custom': 'hello',
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  };
  const dropped = ['openai-organization', 'openai-project', 'anthropic-beta', 'x-goog-user-project', 'cookie', 'x-custom', 'x-stainless-os', 'x-forwarded-for'];

  test('only the allowlist reaches each provider; user-agent is the gateway\'s', async () => {
    resetSims();
    const client = gw.client();
    for (const [model, sim] of [['gpt-4o-mini', 'openai-primary'], ['gemini-2.5-flash', 'gemini']] as const) {
      await client.chat.completions.create({ model, messages: hello }, { headers: callerHeaders });
      const got = gw.sims[sim]!.requests.at(-1)!.headers;
      for (const name of dropped) assert.equal(got[name], undefined, `${sim}: ${name}`);
      assert.equal(got['traceparent'], callerHeaders.traceparent, `${sim}: W3C trace context is forwarded`);
      assert.equal(got['user-agent'], 'llm-extproc');
    }
  });

  test('a provider-specific header reaches its provider only, not the next one after a failover', async () => {
    resetSims();
    gw.sims['anthropic']!.enqueueFault({ status: 529 });
    const res = await gw.client().chat.completions.create({ model: 'claude-then-openai', messages: hello }, { headers: callerHeaders });
    assert.equal(res.model, 'claude-then-openai');
    const first = gw.sims['anthropic']!.requests;
    const second = gw.sims['openai-primary']!.requests;
    assert.equal(first.length, 1);
    assert.equal(second.length, 1);
    assert.equal(first[0]!.headers['anthropic-beta'], 'caller-beta');
    assert.equal(second[0]!.headers['anthropic-beta'], undefined);
    for (const name of dropped.filter((n) => n !== 'anthropic-beta')) {
      assert.equal(first[0]!.headers[name], undefined, name);
      assert.equal(second[0]!.headers[name], undefined, name);
    }
  });

  test("the caller's x-request-id is logged as client_request_id; the gateway's own id goes upstream", async () => {
    resetSims();
    const mine = 'caller-req-7f3a9c';
    const res = await gw.client().chat.completions.create({ model: 'gpt-4o-mini', messages: hello }, { headers: { 'x-request-id': mine } }).withResponse();
    const gatewayId = res.response.headers.get('x-request-id');
    assert.ok(gatewayId && gatewayId !== mine);
    assert.equal(gw.sims['openai-primary']!.requests.at(-1)!.headers['x-request-id'], gatewayId);
    const line = await gw.requestLog(gatewayId);
    assert.equal(line['client_request_id'], mine);
    // Without one, nothing is invented for the caller.
    const plain = await gw.client().chat.completions.create({ model: 'gpt-4o-mini', messages: hello }).withResponse();
    const plainLine = await gw.requestLog(plain.response.headers.get('x-request-id')!);
    assert.equal(plainLine['client_request_id'], undefined);
  });
});


describe('one error mapping for every wire format', () => {
  const models = [
    ['gpt-4o-mini', 'openai-primary'],
    ['claude-sonnet-4-5', 'anthropic'],
    ['gemini-2.5-flash', 'gemini'],
  ] as const;

  test('a provider 503 with retry-after is 503 server_is_overloaded with retry-after, whatever the format', async () => {
    for (const stream of [false, true]) {
      for (const [model, sim] of models) {
        gw.sims[sim]!.enqueueFault({ status: 503, retryAfter: 3 });
        const err = await apiError(drain(gw.client().chat.completions.create({ model, messages: hello, stream })));
        const where = `${model} stream=${stream}`;
        assert.deepEqual([err.status, err.type, err.code], [503, 'service_unavailable_error', 'server_is_overloaded'], where);
        assert.equal(err.headers?.get('retry-after'), '3', where);
      }
    }
  });

  test('a provider 500 is 502 upstream_error without retry-after, whatever the format', async () => {
    for (const [model, sim] of models) {
      gw.sims[sim]!.enqueueFault({ status: 500, retryAfter: 3 });
      const err = await apiError(gw.client().chat.completions.create({ model, messages: hello }));
      assert.deepEqual([err.status, err.type, err.code], [502, 'api_error', 'upstream_error'], model);
      assert.equal(err.headers?.get('retry-after'), null, model);
    }
  });

  test("no provider reachable: Envoy's own 503 carries retry-after too", async () => {
    for (const [model, sim] of models) {
      gw.sims[sim]!.enqueueFault({ resetBeforeHeaders: true });
      const err = await apiError(gw.client().chat.completions.create({ model, messages: hello }));
      assert.deepEqual([err.status, err.code], [503, 'upstream_unavailable'], model);
      assert.equal(err.headers?.get('retry-after'), '1', model);
    }
  });

  test("a provider's 400 reaches the caller scrubbed of host names, URLs and project ids", async () => {
    const body = JSON.stringify({
      error: {
        code: 400,
        message:
          "Invalid value at 'generation_config.temperature' (TYPE_FLOAT), \"hot\". Project projects/812345678901 via generativelanguage.googleapis.com; see https://ai.google.dev/gemini-api/docs",
        status: 'INVALID_ARGUMENT',
      },
    });
    gw.sims['gemini']!.enqueueFault({ replay: { status: 400, contentType: 'application/json', body } });
    const err = await apiError(gw.client().chat.completions.create({ model: 'gemini-2.5-flash', messages: hello }));
    assert.equal(err.status, 400);
    const message = (err.error as { message: string }).message;
    assert.match(message, /Invalid value at 'generation_config\.temperature' \(TYPE_FLOAT\), "hot"\./);
    assert.doesNotMatch(message, /googleapis|ai\.google|812345678901|https?:/);
  });
});

/** Reads a stream to its end (the SDK throws on an error status before the first chunk). */
async function drain(call: Promise<unknown>): Promise<void> {
  const res = await call;
  if (res && typeof res === 'object' && Symbol.asyncIterator in res) for await (const _ of res as AsyncIterable<unknown>);
}
