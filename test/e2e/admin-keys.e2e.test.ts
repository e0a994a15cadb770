import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { STATE_KEY_CACHE_MS } from '../../src/policy/state-keys.ts';
import { startRedis, type TestRedis } from '../support/redis-server.ts';
import { hello, startTestStack, type TestStack } from '../support/e2e.ts';

/** Calls the ext_proc's admin key API (loopback, not through Envoy) with the stack's admin key. */
async function admin(stack: TestStack, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${stack.adminApiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${stack.adminApiKey}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: await res.json() };
}

/** Polls a chat call with `key` until it is refused with 401; returns the ms it took (fails after `boundMs`). */
async function untilRefused(stack: TestStack, key: string, boundMs: number): Promise<number> {
  const t0 = Date.now();
  const client = stack.client({ apiKey: key });
  for (;;) {
    try {
      await client.chat.completions.create({ model: 'gpt-4o-mini', messages: hello });
    } catch (err) {
      assert.ok(err instanceof OpenAI.AuthenticationError, `expected 401, got ${String(err)}`);
      assert.equal(err.code, 'invalid_api_key');
      return Date.now() - t0;
    }
    assert.ok(Date.now() - t0 < boundMs, `a revoked key was still admitted after ${boundMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('admin key API through the real Envoy (embedded state)', () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack();
  });
  after(() => stack.dispose());

  it('a created key calls chat through Envoy (openai SDK) within its scope, and is refused once revoked', async () => {
    const created = await admin(stack, 'POST', '/admin/keys', { name: 'e2e-scoped', team: 'analytics', feature: 'reports', models: ['gpt-4o-mini'] });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const client = stack.client({ apiKey: created.json.key });

    const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: hello });
    assert.ok(completion.choices[0]?.message.content);
    const line = await stack.requestLog(completion._request_id);
    assert.deepEqual([line['key_name'], line['team'], line['status']], ['e2e-scoped', 'analytics', 200]);

    // The scope holds as for a gateway.yaml key: 403 outside it, /v1/models lists only what it may use.
    await assert.rejects(client.chat.completions.create({ model: 'claude-sonnet-4-5', messages: hello }), (err: unknown) => err instanceof OpenAI.PermissionDeniedError);
    const models = [];
    for await (const m of client.models.list()) models.push(m.id);
    assert.deepEqual(models, ['gpt-4o-mini']);

    // Streams too.
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: hello, stream: true });
    let chunks = 0;
    for await (const _ of stream) chunks++;
    assert.ok(chunks > 0);

    const listed = await admin(stack, 'GET', '/admin/keys');
    assert.deepEqual(
      listed.json.data.map((k: { name: string; source: string }) => `${k.source}:${k.name}`),
      ['config:demo', 'config:demo-support', 'admin:e2e-scoped'],
    );

    const revoked = await admin(stack, 'DELETE', `/admin/keys/${created.json.id}`);
    assert.equal(revoked.status, 200);
    await untilRefused(stack, created.json.key, STATE_KEY_CACHE_MS + 2000);
  });

  it('a disabled key gets the same 401 as an unknown one; enabled again it works', async () => {
    const { json } = await admin(stack, 'POST', '/admin/keys', { name: 'e2e-toggle', team: 'analytics' });
    assert.equal((await admin(stack, 'PATCH', `/admin/keys/${json.id}`, { disabled: true })).status, 200);
    await untilRefused(stack, json.key, STATE_KEY_CACHE_MS + 2000);
    assert.equal((await admin(stack, 'PATCH', `/admin/keys/${json.id}`, { disabled: false })).status, 200);
    const ok = await stack.client({ apiKey: json.key }).chat.completions.create({ model: 'gpt-4o-mini', messages: hello });
    assert.ok(ok.id);
  });

  it('the admin API is not reachable through Envoy: /admin/keys there is the gateway 404', async () => {
    for (const method of ['GET', 'POST', 'DELETE']) {
      const res = await stack.raw('/admin/keys', {
        method,
        headers: { authorization: `Bearer ${stack.adminApiKey}`, 'content-type': 'application/json' },
        ...(method === 'POST' ? { body: JSON.stringify({ name: 'via-envoy', team: 'x' }) } : {}),
      });
      assert.equal(res.status, 404, method);
      const body = (await res.json()) as { error: { code: string } };
      assert.equal(body.error.code, 'unknown_url');
    }
    const names = (await admin(stack, 'GET', '/admin/keys')).json.data.map((k: { name: string }) => k.name);
    assert.ok(!names.includes('via-envoy'));
  });

  it('the admin key is not a gateway key, and a wrong admin key is 401 on the admin API', async () => {
    await assert.rejects(
      stack.client({ apiKey: stack.adminApiKey }).chat.completions.create({ model: 'gpt-4o-mini', messages: hello }),
      (err: unknown) => err instanceof OpenAI.AuthenticationError,
    );
    const res = await fetch(`${stack.adminApiUrl}/admin/keys`, { headers: { authorization: `Bearer ${stack.demoKey}` } });
    assert.equal(res.status, 401);
  });
});

describe('admin-created keys across two gateway replicas sharing one redis-server', () => {
  let redis: TestRedis;
  let a: TestStack;
  let b: TestStack;
  before(async () => {
    redis = await startRedis();
    a = await startTestStack({ env: { REDIS_URL: redis.url } });
    b = await startTestStack({ env: { REDIS_URL: redis.url } });
  });
  after(async () => {
    await a?.dispose();
    await b?.dispose();
    await redis?.stop();
  });

  it('a key created on replica A works through replica B, and B refuses it within the bound after A revokes it', async () => {
    const { status, json } = await admin(a, 'POST', '/admin/keys', { name: 'fleet', team: 'analytics' });
    assert.equal(status, 201);
    const viaB = await b.client({ apiKey: json.key }).chat.completions.create({ model: 'gpt-4o-mini', messages: hello });
    assert.equal((await b.requestLog(viaB._request_id))['key_name'], 'fleet');
    assert.ok((await admin(b, 'GET', '/admin/keys')).json.data.some((k: { name: string }) => k.name === 'fleet'), 'B lists it');
    assert.equal((await admin(a, 'DELETE', `/admin/keys/${json.id}`)).status, 200);
    await untilRefused(b, json.key, STATE_KEY_CACHE_MS + 2000);
  });
});
