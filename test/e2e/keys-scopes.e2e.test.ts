import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { sha256Hex } from '../../src/policy/keys.ts';
import { type ErrorBody, hello, SIM_PROVIDERS_YAML, startTestStack, type TestStack } from '../support/e2e.ts';

// Issue 8 item 1 (keys and scopes) through the real Envoy, the official SDK as the caller: two
// teams' keys with different scopes, aliases, rotation, disabled and expired keys.
const SECRET = {
  supportOld: 'sk-e2e-support-old-7f3a91',
  supportNew: 'sk-e2e-support-new-2c8d04',
  research: 'sk-e2e-research-5b1e66',
  disabled: 'sk-e2e-disabled-9a0c12',
  expired: 'sk-e2e-expired-44d7e0',
};

const CONFIG = `
${SIM_PROVIDERS_YAML}models:
  gpt-4o-mini:
    targets: [{ provider: openai-primary, model: gpt-4o-mini }]
    aliases: [cheap]
  claude-sonnet-4-5:
    targets: [{ provider: anthropic, model: claude-sonnet-4-5-20250929 }]
    aliases: [smart]
  gemini-2.5-flash:
    targets: [{ provider: gemini, model: gemini-2.5-flash }]
    aliases: [fast]
keys:
  - { name: demo, team: platform, fromEnv: GATEWAY_DEMO_KEY }
  - name: support-bot-key
    team: support
    feature: support-bot
    sha256: [${sha256Hex(SECRET.supportOld)}, ${sha256Hex(SECRET.supportNew)}]
    models: [gpt-4o-mini, 'gemini-*']
  - { name: research-key, team: research, sha256: ${sha256Hex(SECRET.research)}, models: ['claude-*', cheap] }
  - { name: revoked, team: support, disabled: true, sha256: ${sha256Hex(SECRET.disabled)} }
  - { name: lapsed, team: research, expiresAt: '2026-01-01T00:00:00Z', sha256: ${sha256Hex(SECRET.expired)} }
`;

let gw: TestStack;
let dir: string;
before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'llmx-keys-'));
  const configFile = path.join(dir, 'gateway.yaml');
  writeFileSync(configFile, CONFIG);
  gw = await startTestStack({ configFile });
});
after(async () => {
  await gw?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const support = () => gw.client({ apiKey: SECRET.supportNew });
const research = () => gw.client({ apiKey: SECRET.research });

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

/** The error body with the echoed model name taken out, to compare two refusals. */
function withoutName(err: InstanceType<typeof OpenAI.APIError>, name: string): unknown {
  const body = err.error as ErrorBody['error'];
  return { status: err.status, ...body, message: body.message.replace(`\`${name}\``, '`…`') };
}

function chat(client: OpenAI, model: string, stream = false) {
  return stream
    ? client.chat.completions.create({ model, messages: hello, stream: true }).then(async (s) => {
        for await (const _ of s) void _;
      })
    : client.chat.completions.create({ model, messages: hello });
}

describe('two teams, two scopes', () => {
  test('each key uses its own models; the log line names key, team and feature', async () => {
    const a = await support().chat.completions.create({ model: 'gpt-4o-mini', messages: hello }).withResponse();
    assert.equal(a.data.model, 'gpt-4o-mini');
    const line = await gw.requestLog(a.response.headers.get('x-request-id'));
    assert.deepEqual([line['key_name'], line['team'], line['feature'], line['status']], ['support-bot-key', 'support', 'support-bot', 200]);

    const b = await research().chat.completions.create({ model: 'claude-sonnet-4-5', messages: hello }).withResponse();
    assert.ok(b.data.choices[0]!.message.content);
    const bLine = await gw.requestLog(b.response.headers.get('x-request-id'));
    assert.deepEqual([bLine['key_name'], bLine['team'], bLine['feature']], ['research-key', 'research', undefined]);
    // A glob: gemini-* grants gemini-2.5-flash, streamed too.
    await chat(support(), 'gemini-2.5-flash', true);
  });

  test('out of scope is 403, the same for an existing and a nonexistent model, stream or not', async () => {
    const existing = await apiError(chat(support(), 'claude-sonnet-4-5'));
    assert.ok(existing instanceof OpenAI.PermissionDeniedError);
    assert.deepEqual(existing.error, {
      message: 'The model `claude-sonnet-4-5` does not exist or you do not have access to it.',
      type: 'invalid_request_error',
      param: 'model',
      code: 'model_not_permitted',
    });
    const missing = await apiError(chat(support(), 'claude-opus-9'));
    assert.deepEqual(withoutName(missing, 'claude-opus-9'), withoutName(existing, 'claude-sonnet-4-5'));
    const streamed = await apiError(chat(support(), 'claude-sonnet-4-5', true));
    assert.deepEqual(withoutName(streamed, 'claude-sonnet-4-5'), withoutName(existing, 'claude-sonnet-4-5'));
    assert.equal((await apiError(chat(research(), 'gpt-4o-mini'))).status, 403);
    const line = await gw.requestLog(existing.headers?.get('x-request-id'));
    assert.deepEqual([line['key_name'], line['status'], line['error_code']], ['support-bot-key', 403, 'model_not_permitted']);
  });

  test('a case change, a look-alike or an encoded name is not the model', async () => {
    for (const name of ['GPT-4o-mini', 'gpt-4\u043e-mini', 'gpt%2D4o-mini', 'gpt-4o-mini ']) {
      const err = await apiError(chat(support(), name));
      assert.equal(err.status, 403, JSON.stringify(name));
      assert.equal((err.error as ErrorBody['error']).code, 'model_not_permitted');
    }
  });

  test('a key with unrestricted scope still gets 404 for an unknown model', async () => {
    const err = await apiError(chat(gw.client(), 'claude-opus-9'));
    assert.ok(err instanceof OpenAI.NotFoundError);
    assert.equal((err.error as ErrorBody['error']).code, 'model_not_found');
  });
});

describe('aliases', () => {
  test('an alias in scope works and answers under the alias name', async () => {
    const viaModel = await research().chat.completions.create({ model: 'cheap', messages: hello });
    assert.equal(viaModel.model, 'cheap', 'research may use cheap by name');
    const viaGlob = await support().chat.completions.create({ model: 'fast', messages: hello });
    assert.equal(viaGlob.model, 'fast', 'support may use fast: gemini-* matches the model it resolves to');
  });

  test('an alias cannot escape the scope', async () => {
    // smart → claude-sonnet-4-5: outside support's scope, whatever the alias is called.
    const smart = await apiError(chat(support(), 'smart'));
    assert.equal(smart.status, 403);
    // research may use `cheap` by name, not gpt-4o-mini; and `fast` → gemini is outside it.
    assert.equal((await apiError(chat(research(), 'gpt-4o-mini'))).status, 403);
    assert.equal((await apiError(chat(research(), 'fast'))).status, 403);
  });
});

describe('GET /v1/models and /v1/models/{model}, filtered per key', () => {
  test('each key lists only what it may use, aliases included', async () => {
    const ids = async (c: OpenAI) => (await c.models.list()).data.map((m) => m.id);
    assert.deepEqual(await ids(support()), ['gpt-4o-mini', 'cheap', 'gemini-2.5-flash', 'fast']);
    assert.deepEqual(await ids(research()), ['cheap', 'claude-sonnet-4-5', 'smart'], 'config order: each model, then its aliases');
    assert.deepEqual(await ids(gw.client()), ['gpt-4o-mini', 'cheap', 'claude-sonnet-4-5', 'smart', 'gemini-2.5-flash', 'fast']);
  });

  test('retrieve: in scope 200, out of scope 404 model_not_found whether it exists or not (shared/cases/models-retrieve)', async () => {
    const cheap = await research().models.retrieve('cheap');
    assert.deepEqual([cheap.id, cheap.object], ['cheap', 'model']);
    const existing = await apiError(research().models.retrieve('gpt-4o-mini'));
    const missing = await apiError(research().models.retrieve('gpt-9'));
    assert.equal(existing.status, 404);
    assert.equal(existing.code, 'model_not_found');
    assert.deepEqual(withoutName(missing, 'gpt-9'), withoutName(existing, 'gpt-4o-mini'));
    assert.equal((await apiError(gw.client().models.retrieve('gpt-9'))).status, 404, 'unrestricted: 404');
  });

  test('the path is decoded once only: %252D is %2D, not -', async () => {
    const once = await gw.raw('/v1/models/gpt%2D4o-mini', { headers: { authorization: `Bearer ${SECRET.supportNew}` } });
    assert.equal(once.status, 200, 'one decoding: gpt-4o-mini');
    const twice = await gw.raw('/v1/models/gpt%252D4o-mini', { headers: { authorization: `Bearer ${SECRET.supportNew}` } });
    assert.equal(twice.status, 404);
    assert.equal(((await twice.json()) as ErrorBody).error.code, 'model_not_found');
  });
});

describe('key lifecycle', () => {
  test('a rotated key works with both hashes, as the same caller', async () => {
    for (const key of [SECRET.supportOld, SECRET.supportNew]) {
      const r = await gw.client({ apiKey: key }).chat.completions.create({ model: 'gpt-4o-mini', messages: hello }).withResponse();
      assert.equal((await gw.requestLog(r.response.headers.get('x-request-id')))['key_name'], 'support-bot-key');
    }
  });

  test('disabled and expired keys get 401, exactly like an unknown key', async () => {
    const unknown = await apiError(chat(gw.client({ apiKey: 'sk-e2e-nobody-000000' }), 'gpt-4o-mini'));
    assert.ok(unknown instanceof OpenAI.AuthenticationError);
    for (const key of [SECRET.disabled, SECRET.expired]) {
      const err = await apiError(chat(gw.client({ apiKey: key }), 'gpt-4o-mini'));
      assert.deepEqual([err.status, err.error], [unknown.status, unknown.error]);
      const list = await apiError(gw.client({ apiKey: key }).models.list());
      assert.equal(list.status, 401);
    }
    // The operator's log still says which key was refused.
    const revoked = await apiError(chat(gw.client({ apiKey: SECRET.disabled }), 'gpt-4o-mini'));
    const line = await gw.requestLog(revoked.headers?.get('x-request-id'));
    assert.deepEqual([line['key_name'], line['status'], line['error_code']], ['revoked', 401, 'invalid_api_key']);
  });

  test('disabling a key in gateway.yaml takes effect without a restart (hot reload)', async () => {
    const client = research();
    await client.chat.completions.create({ model: 'claude-sonnet-4-5', messages: hello });
    const configFile = path.join(dir, 'gateway.yaml');
    writeFileSync(configFile, CONFIG.replace("{ name: research-key, team: research,", '{ name: research-key, team: research, disabled: true,'));
    let status = 200;
    for (let i = 0; i < 50 && status !== 401; i++) {
      status = await client.models.list().then(
        () => 200,
        (err: unknown) => (err instanceof OpenAI.APIError ? (err.status ?? 0) : 0),
      );
      if (status !== 401) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status, 401, 'the disabled key is refused once the file is reloaded');
    // The other team's key is untouched by the reload.
    assert.equal((await support().chat.completions.create({ model: 'gpt-4o-mini', messages: hello })).model, 'gpt-4o-mini');
  });
});
