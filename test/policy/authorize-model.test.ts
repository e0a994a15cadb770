import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { modelFor } from '../../src/config/runtime.ts';
import { GatewayError } from '../../src/errors/gateway-error.ts';
import { toOpenAIError } from '../../src/errors/to-openai.ts';
import { authorizeModel } from '../../src/policy/authorize-model.ts';
import type { GatewayKey } from '../../src/policy/keys.ts';
import { loadScoped } from './fixture.ts';

const config = loadScoped();
const key = (name: string): GatewayKey => config.keys.keys.find((k) => k.name === name)!;

/** The status and body a caller gets for `name`, or 200 and the canonical model. */
function ask(keyName: string, name: string): { status: number; body?: unknown; model?: string; aliasOf?: string | undefined } {
  try {
    const m = authorizeModel(config, key(keyName), name);
    return { status: 200, model: m.name, aliasOf: m.aliasOf };
  } catch (err) {
    assert.ok(err instanceof GatewayError);
    const o = toOpenAIError(err);
    return { status: o.status, body: o.body };
  }
}

const forbidden = (name: string) => ({
  error: { message: `The model \`${name}\` does not exist or you do not have access to it.`, type: 'invalid_request_error', param: 'model', code: 'model_not_permitted' },
});

describe('authorizeModel: a key with unrestricted scope', () => {
  test('every model and alias; an alias resolves to its model under the alias name', () => {
    assert.deepEqual(ask('full', 'gpt-4o'), { status: 200, model: 'gpt-4o', aliasOf: undefined });
    assert.deepEqual(ask('full', 'cheap'), { status: 200, model: 'cheap', aliasOf: 'gpt-4o-mini' });
    assert.equal(config.aliases.get('cheap')!.targets, config.models.get('gpt-4o-mini')!.targets, 'the same targets and plan');
  });

  test('an unknown name stays 404 model_not_found', () => {
    const r = ask('full', 'gpt-5');
    assert.equal(r.status, 404);
    assert.deepEqual(r.body, { error: { message: 'The model `gpt-5` does not exist or you do not have access to it.', type: 'invalid_request_error', param: 'model', code: 'model_not_found' } });
  });
});

describe('authorizeModel: scoped keys', () => {
  test('exact names and globs grant canonical models', () => {
    assert.equal(ask('support', 'gpt-4o-mini').status, 200);
    assert.equal(ask('support', 'gemini-2.5-flash').status, 200);
  });

  test('out of scope is 403 with one message whether the model exists or not', () => {
    assert.deepEqual(ask('support', 'gpt-4o'), { status: 403, body: forbidden('gpt-4o') });
    assert.deepEqual(ask('support', 'gpt-5'), { status: 403, body: forbidden('gpt-5') });
    // An unknown name a glob covers is 403 too: a 404 there would tell `fa*`'s unknown names
    // from the existing alias `fast` the glob does not grant.
    assert.deepEqual(ask('support', 'gemini-9-flash'), { status: 403, body: forbidden('gemini-9-flash') });
  });

  test('a case change is another, unknown name', () => {
    assert.equal(ask('support', 'GPT-4o-mini').status, 403);
    assert.equal(ask('support', 'Gpt-4o-mini').status, 403);
    assert.equal(ask('full', 'GPT-4O-MINI').status, 404, 'unrestricted: unknown, not the model');
  });

  test('unicode look-alikes, URL-encoded names, spaces and the empty name are refused', () => {
    for (const name of ['gpt-4\u043e-mini', '\uff47\uff50\uff54-4o-mini', 'gpt%2D4o-mini', 'gpt-4o-mini ', ' gpt-4o-mini', 'gpt-4o-mini\t', '']) {
      assert.equal(ask('support', name).status, 403, JSON.stringify(name));
      assert.equal(ask('full', name).status, 404, JSON.stringify(name));
    }
  });

  test('an alias is granted when a pattern matches the model it resolves to', () => {
    assert.deepEqual(ask('support', 'cheap'), { status: 200, model: 'cheap', aliasOf: 'gpt-4o-mini' });
    assert.deepEqual(ask('support', 'fast'), { status: 200, model: 'fast', aliasOf: 'gemini-2.5-flash' });
  });

  test('an alias cannot escape the scope: smart → gpt-4o is outside support', () => {
    assert.deepEqual(ask('support', 'smart'), { status: 403, body: forbidden('smart') });
  });

  test('an alias named literally grants the alias only, not its model by its own name', () => {
    assert.deepEqual(ask('alias-only', 'cheap'), { status: 200, model: 'cheap', aliasOf: 'gpt-4o-mini' });
    assert.equal(ask('alias-only', 'gpt-4o-mini').status, 403);
    assert.equal(ask('alias-only', 'smart').status, 403);
  });

  test('a glob never grants through an alias: ch* does not grant cheap', () => {
    for (const name of ['cheap', 'smart', 'fast']) assert.deepEqual(ask('globs', name), { status: 403, body: forbidden(name) });
    assert.equal(ask('globs', 'chat-nothing').status, 403, 'nor an unknown name it covers: no 404 oracle');
  });

  test('modelFor is the same check without the error; no caller, no model', () => {
    assert.equal(modelFor(config, key('support'), 'gpt-4o-mini')?.name, 'gpt-4o-mini');
    assert.equal(modelFor(config, key('support'), 'gpt-4o'), undefined);
    assert.equal(modelFor(config, undefined, 'gpt-4o-mini'), undefined);
  });
});

describe('model lists per scope', () => {
  const ids = (k: string) => (JSON.parse(config.modelCatalog.listBody(key(k).scope)) as { data: Array<{ id: string }> }).data.map((m) => m.id);

  test('each key sees only what it may use, aliases included, in config order', () => {
    assert.deepEqual(ids('full'), ['gpt-4o-mini', 'cheap', 'gpt-4o', 'smart', 'gemini-2.5-flash', 'fast']);
    assert.deepEqual(ids('support'), ['gpt-4o-mini', 'cheap', 'gemini-2.5-flash', 'fast']);
    assert.deepEqual(ids('alias-only'), ['cheap']);
    assert.deepEqual(ids('globs'), []);
    assert.equal(config.modelsListBody, config.modelCatalog.listBody(key('full').scope));
  });

  test('rendered once per distinct scope', () => {
    assert.equal(config.modelCatalog.listBody(key('support').scope), config.modelCatalog.listBody(key('support').scope));
  });

  test('an alias is its own model object, the one retrieve returns', () => {
    const o = JSON.parse(config.modelCatalog.objectBody('cheap')!) as Record<string, unknown>;
    // OpenAI's four fields, then the gateway's (context length and live prices: src/policy/model-catalog.ts).
    assert.deepEqual(Object.keys(o), ['id', 'object', 'created', 'owned_by', 'context_length', 'pricing']);
    assert.equal(o['id'], 'cheap');
  });
});
