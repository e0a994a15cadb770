import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AuthError } from '../../src/errors/gateway-error.ts';
import { KeyRefusedError } from '../../src/policy/authenticate.ts';
import { sha256Hex } from '../../src/policy/keys.ts';
import { authenticateCaller } from '../../src/policy/state-keys.ts';
import { GATEWAY_KEY_NAMESPACE } from '../../src/policy/stored-key.ts';
import { CONFIG_KEY, startAdminFixture, type AdminFixture } from './fixture.ts';

const OPENAI_ERROR_KEYS = ['code', 'message', 'param', 'type'];

function assertOpenAIError(r: { status: number; json: any }, status: number, code: string, param?: string | null): void {
  assert.equal(r.status, status, JSON.stringify(r.json));
  assert.deepEqual(Object.keys(r.json.error).sort(), OPENAI_ERROR_KEYS);
  assert.equal(r.json.error.code, code, JSON.stringify(r.json));
  if (param !== undefined) assert.equal(r.json.error.param, param);
}

describe('admin key API (embedded store)', () => {
  let api: AdminFixture;
  before(async () => {
    api = await startAdminFixture();
  });
  after(() => api.close());
  const auth = (secret: string) => authenticateCaller(api.configs.current.keys, api.directory, `Bearer ${secret}`, Date.now());

  it('creates a key: the secret is shown once, only its SHA-256 is stored, and it authenticates', async () => {
    const r = await api.call('POST', '/admin/keys', { name: 'batch-jobs', team: 'data', feature: 'nightly', models: ['m1', 'm2-*'] });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    assert.equal(r.headers.get('cache-control'), 'no-store');
    const { key, id } = r.json;
    assert.match(key, /^sk-llmx-[0-9A-Za-z]{40}$/);
    const hash = sha256Hex(key);
    assert.equal(id, `key_${hash.slice(0, 12)}`);
    assert.deepEqual({ ...r.json, key: undefined, createdAt: undefined }, {
      object: 'gateway.key', id, source: 'admin', name: 'batch-jobs', team: 'data', feature: 'nightly', models: ['m1', 'm2-*'],
      disabled: false, expiresAt: null, usageCost: false, explain: false, createdAt: undefined, redactedKey: `sk-llmx-...${key.slice(-4)}`, key: undefined,
    });
    // Stored: the hash as the record id; nowhere the secret.
    const records = await api.store.listRecords(GATEWAY_KEY_NAMESPACE);
    assert.deepEqual(records.map((x) => x.id), [hash]);
    assert.ok(!records[0]!.value.includes(key.slice(8)), 'the secret is not stored');
    const caller = await auth(key);
    assert.deepEqual([caller.name, caller.team, caller.feature], ['batch-jobs', 'data', 'nightly']);
    assert.ok(caller.scope.matches('m2-large') && !caller.scope.matches('m3'));
    // Shown once: neither the listing nor the key's own page has it again.
    const one = await api.call('GET', `/admin/keys/${id}`);
    assert.equal(one.status, 200);
    assert.equal(one.json.key, undefined);
  });

  it('lists gateway.yaml keys (read-only) and admin-created keys, never a secret or a hash', async () => {
    const created = await api.call('POST', '/admin/keys', { name: 'list-me', team: 'data' });
    const r = await api.call('GET', '/admin/keys');
    assert.equal(r.status, 200);
    assert.equal(r.json.object, 'list');
    const config = r.json.data.find((k: any) => k.name === 'caller');
    assert.deepEqual(config, {
      object: 'gateway.key', id: null, source: 'config', name: 'caller', team: 'core', feature: null, models: ['m1'],
      disabled: false, expiresAt: null, usageCost: false, explain: false, createdAt: null, redactedKey: null,
    });
    const mine = r.json.data.find((k: any) => k.name === 'list-me');
    assert.equal(mine.source, 'admin');
    const text = JSON.stringify(r.json);
    assert.ok(!text.includes(created.json.key) && !text.includes(created.json.key.slice(8)), 'no secret');
    assert.doesNotMatch(text, /[0-9a-f]{64}/, 'no hash');
    assert.ok(!text.includes(sha256Hex(CONFIG_KEY).slice(0, 16)));
  });

  it('revokes a key: 200, refused at once on this replica, then 404', async () => {
    const { json } = await api.call('POST', '/admin/keys', { name: 'short-lived', team: 'data' });
    assert.equal((await auth(json.key)).name, 'short-lived');
    const r = await api.call('DELETE', `/admin/keys/${json.id}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { object: 'gateway.key.deleted', id: json.id, deleted: true });
    await assert.rejects(async () => auth(json.key), (err: unknown) => err instanceof AuthError && err.code === 'invalid_api_key');
    assertOpenAIError(await api.call('DELETE', `/admin/keys/${json.id}`), 404, 'key_not_found', 'id');
    assertOpenAIError(await api.call('GET', `/admin/keys/${json.id}`), 404, 'key_not_found', 'id');
    assertOpenAIError(await api.call('DELETE', '/admin/keys/caller'), 409, 'config_key_read_only', 'id');
  });

  it('PATCH disables, enables and sets or clears the expiry', async () => {
    const { json } = await api.call('POST', '/admin/keys', { name: 'toggle', team: 'data' });
    let r = await api.call('PATCH', `/admin/keys/${json.id}`, { disabled: true });
    assert.equal(r.json.disabled, true);
    await assert.rejects(async () => auth(json.key), (err: unknown) => err instanceof KeyRefusedError && err.reason === 'disabled');
    r = await api.call('PATCH', `/admin/keys/${json.id}`, { disabled: false, expiresAt: '2000-01-01T00:00:00Z' });
    assert.equal(r.json.expiresAt, '2000-01-01T00:00:00.000Z');
    await assert.rejects(async () => auth(json.key), (err: unknown) => err instanceof KeyRefusedError && err.reason === 'expired');
    r = await api.call('PATCH', `/admin/keys/${json.id}`, { expiresAt: null });
    assert.equal(r.json.expiresAt, null);
    assert.equal((await auth(json.key)).name, 'toggle');
    assertOpenAIError(await api.call('PATCH', `/admin/keys/${json.id}`, { name: 'renamed' }), 400, 'unknown_parameter', 'name');
  });

  it('validates like gateway.yaml keys: 400 naming the field, 409 for a taken name', async () => {
    assertOpenAIError(await api.call('POST', '/admin/keys', { name: 'no-team' }), 400, 'invalid_value', 'team');
    assertOpenAIError(await api.call('POST', '/admin/keys', { team: 'data' }), 400, 'invalid_value', 'name');
    assertOpenAIError(await api.call('POST', '/admin/keys', { name: 'x', team: 'data', models: ['m1', 'nope'] }), 400, 'invalid_value', 'models[1]');
    // Scope patterns: exact, case-sensitive, ASCII only (a Cyrillic 'о' is not an 'o').
    assertOpenAIError(await api.call('POST', '/admin/keys', { name: 'x', team: 'data', models: ['M1'] }), 400, 'invalid_value', 'models[0]');
    assertOpenAIError(await api.call('POST', '/admin/keys', { name: 'x', team: 'data', models: ['gpt-4\u043e*'] }), 400, 'invalid_value', 'models[0]');
    assertOpenAIError(await api.call('POST', '/admin/keys', { name: 'x', team: 'data', models: [] }), 400, 'invalid_value', 'models');
    assertOpenAIError(await api.call('POST', '/admin/keys', { name: 'x', team: 'data', sha256: 'a'.repeat(64) }), 400, 'unknown_parameter', 'sha256');
    assertOpenAIError(await api.call('POST', '/admin/keys', { name: 'x', team: 'data', expiresAt: 'tomorrow' }), 400, 'invalid_value', 'expiresAt');
    assertOpenAIError(await api.call('POST', '/admin/keys', { name: 'x', team: 'data', expiresAt: '2001-01-01T00:00:00Z' }), 400, 'invalid_value', 'expiresAt');
    assertOpenAIError(await api.call('POST', '/admin/keys', '{"name":'), 400, 'invalid_json', null);
    assertOpenAIError(await api.call('POST', '/admin/keys', ['not', 'an', 'object']), 400, 'invalid_request_body', null);
    // Aliases are granted by name, as in gateway.yaml.
    assert.equal((await api.call('POST', '/admin/keys', { name: 'alias-user', team: 'data', models: ['cheap'] })).status, 201);
    // Names are unique across gateway.yaml and the admin API.
    assertOpenAIError(await api.call('POST', '/admin/keys', { name: 'caller', team: 'data' }), 409, 'key_name_taken', 'name');
    assertOpenAIError(await api.call('POST', '/admin/keys', { name: 'alias-user', team: 'other' }), 409, 'key_name_taken', 'name');
    const res = await fetch(`${api.url}/admin/keys`, { method: 'POST', headers: { authorization: 'Bearer sk-llmx-admin-test-key-0123456789', 'content-type': 'text/plain' }, body: 'x' });
    assert.equal(res.status, 415);
  });

  it('concurrent creates of one name on one replica: exactly one wins', async () => {
    const results = await Promise.all(Array.from({ length: 5 }, () => api.call('POST', '/admin/keys', { name: 'race', team: 'data' })));
    assert.deepEqual(results.map((r) => r.status).sort(), [201, 409, 409, 409, 409]);
  });

  it('refuses a missing or wrong admin key with 401 before routing; a gateway key is not an admin key', async () => {
    assertOpenAIError(await api.call('GET', '/admin/keys', undefined, null), 401, 'missing_api_key');
    assertOpenAIError(await api.call('GET', '/admin/keys', undefined, 'sk-llmx-admin-test-key-0123456788'), 401, 'invalid_api_key');
    assertOpenAIError(await api.call('GET', '/admin/keys', undefined, CONFIG_KEY), 401, 'invalid_api_key');
    assertOpenAIError(await api.call('POST', '/admin/keys', { name: 'sneaky', team: 'x' }, 'wrong'), 401, 'invalid_api_key');
    assertOpenAIError(await api.call('GET', '/elsewhere', undefined, null), 401, 'missing_api_key');
    assertOpenAIError(await api.call('GET', '/elsewhere'), 404, 'unknown_url');
    assertOpenAIError(await api.call('PUT', '/admin/keys'), 405, 'method_not_allowed');
    const wrong = await api.call('GET', '/admin/keys', undefined, 'wrong-key-echo-canary');
    assert.ok(!JSON.stringify(wrong.json).includes('wrong-key-echo-canary'), 'the key is never echoed');
    assert.equal((await api.store.listRecords(GATEWAY_KEY_NAMESPACE)).some((r) => r.value.includes('sneaky')), false);
  });
});

describe('admin-created keys when the state backend fails', () => {
  it('lookups fail closed with 503 state_unavailable, never 401; the admin API answers 503 with retry-after', async () => {
    let now = 1_000_000;
    const api = await startAdminFixture({ now: () => now });
    const { json } = await api.call('POST', '/admin/keys', { name: 'cached', team: 'data' });
    const auth = (secret: string) => authenticateCaller(api.configs.current.keys, api.directory, `Bearer ${secret}`, Date.now());
    assert.equal((await auth(json.key)).name, 'cached');
    await api.store.close();
    // Within the cache's bound a known key still answers, synchronously; gateway.yaml keys always do.
    assert.equal((auth(json.key) as { name: string }).name, 'cached');
    assert.equal((auth(CONFIG_KEY) as { name: string }).name, 'caller');
    const outage = (err: unknown) => err instanceof Error && (err as { status?: number }).status === 503 && (err as { code?: string }).code === 'state_unavailable';
    await assert.rejects(async () => auth('sk-llmx-never-created-0000000000000000000000'), outage);
    now += 5001; // past the bound: nothing stale is served
    await assert.rejects(async () => auth(json.key), outage);
    const r = await api.call('GET', '/admin/keys');
    assertOpenAIError(r, 503, 'state_unavailable');
    assert.equal(r.headers.get('retry-after'), '1');
    assertOpenAIError(await api.call('POST', '/admin/keys', { name: 'later', team: 'data' }), 503, 'state_unavailable');
    await api.close();
  });
});
