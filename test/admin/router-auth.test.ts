import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { ExchangeRegistry } from '../../src/exchange/registry.ts';
import { RouterProcessor } from '../../src/exchange/router-processor.ts';
import type { ExtProcResponse } from '../../src/extproc/types.ts';
import { AdminKeys } from '../../src/admin/key-service.ts';
import { StateKeyDirectory } from '../../src/policy/state-keys.ts';
import { EmbeddedStateStore } from '../../src/state/embedded/store.ts';
import { headersMessage, immediate, phaseMutation } from '../support/unit/ext-proc.ts';
import { memorySinks } from '../support/unit/sinks.ts';
import { adminConfig, CONFIG_KEY } from './fixture.ts';

const { configs, cleanup } = adminConfig();
const store = new EmbeddedStateStore({ sqlitePath: ':memory:' });
const directory = new StateKeyDirectory(store);
const keys = new AdminKeys({ store, config: () => configs.current, directory });
const registry = new ExchangeRegistry(64, 600_000);
const mem = memorySinks();
after(async () => {
  registry.close();
  configs.close();
  cleanup();
  await store.close();
});

const router = (): RouterProcessor => new RouterProcessor(configs, registry, mem.sinks, undefined, directory);
const chat = (key: string) =>
  headersMessage('request_headers', { ':method': 'POST', ':path': '/v1/chat/completions', 'content-type': 'application/json', authorization: `Bearer ${key}` });

test('router-level request headers: a gateway.yaml key stays synchronous; an admin-created key is admitted after an async lookup, then cached', async () => {
  assert.ok(!(router().handle(chat(CONFIG_KEY)) instanceof Promise));
  const { key } = await keys.create({ name: 'routed', team: 'data', models: ['m1'] });
  const first = router().handle(chat(key));
  assert.ok(first instanceof Promise, 'the first lookup goes to the state backend');
  const m = phaseMutation(await first, 'request_headers');
  assert.ok(m.set['x-request-id']);
  assert.ok(!(router().handle(chat(key)) instanceof Promise), 'cached: synchronous again');
});

test('an unknown key is the same 401 after the lookup, and its log line says so', async () => {
  const reply = await router().handle(chat('sk-llmx-not-a-key-00000000000000000000000'));
  const r = immediate(reply);
  assert.equal(r.status, 401);
  assert.equal((r.json as { error: { code: string } }).error.code, 'invalid_api_key');
  assert.ok(mem.lines().some((l) => l['msg'] === 'request' && l['status'] === 401));
});

test('a revoked key is refused at once on the replica that revoked it; a disabled one is logged by name', async () => {
  const created = await keys.create({ name: 'to-disable', team: 'data' });
  phaseMutation(await router().handle(chat(created.key)), 'request_headers');
  await keys.update(created.id, { disabled: true });
  const reply: ExtProcResponse | Promise<ExtProcResponse> = router().handle(chat(created.key));
  assert.equal(immediate(await reply).status, 401);
  assert.ok(mem.lines().some((l) => l['msg'] === 'request' && l['status'] === 401 && l['key_name'] === 'to-disable'));
  await keys.revoke(created.id);
  assert.equal(immediate(await router().handle(chat(created.key))).status, 401);
});

test('a stream Envoy closes during the lookup leaves nothing in the registry', async () => {
  const { key } = await keys.create({ name: 'closer', team: 'data' });
  const before = registry.size;
  const p = router();
  const pending = p.handle(chat(key));
  assert.ok(pending instanceof Promise);
  p.close('cancelled');
  await pending;
  assert.equal(registry.size, before);
});

test('the state backend failing: 503 state_unavailable with retry-after, not 401; gateway.yaml keys unaffected', async () => {
  const broken = new EmbeddedStateStore({ sqlitePath: ':memory:' });
  await broken.close();
  const p = new RouterProcessor(configs, registry, mem.sinks, undefined, new StateKeyDirectory(broken));
  const r = immediate(await p.handle(chat('sk-llmx-any-key-000000000000000000000000000')));
  assert.equal(r.status, 503);
  assert.equal(r.headers['retry-after'], '1');
  assert.equal((r.json as { error: { code: string; type: string } }).error.code, 'state_unavailable');
  phaseMutation(new RouterProcessor(configs, registry, mem.sinks, undefined, new StateKeyDirectory(broken)).handle(chat(CONFIG_KEY)), 'request_headers');
});
