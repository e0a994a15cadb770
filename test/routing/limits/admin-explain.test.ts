import assert from 'node:assert/strict';
import { test } from 'node:test';
import { explainRouting } from '../../../src/admin/routing-explain.ts';
import { EmbeddedStateStore } from '../../../src/state/embedded/store.ts';
import { limitsConfig } from './fixture.ts';

test('POST /admin/routing/explain shows a target at its provider limit as `limit`, and spends nothing', async () => {
  const config = limitsConfig({ a: { x: { requestsPerMinute: 1 } } });
  const store = new EmbeddedStateStore({ sqlitePath: ':memory:' });
  const body = { request: { model: 'm', messages: [{ role: 'user', content: 'Hi' }] } };
  const opts = { config: () => config, keyNamed: async () => undefined, store };
  for (let i = 0; i < 3; i++) {
    const v = await explainRouting(opts, body);
    assert.deepEqual(v.plan, ['a/x', 'b/x'], 'asking again changes nothing: the check gave its reservation back');
  }
  const r = store.sync.reserve('real', 'provider:a', [{ counter: 'provider:a/x/rpm', amount: 1, limit: 1, windowMs: 60_000 }]);
  assert.equal(r.granted, true);
  const v = await explainRouting(opts, body);
  assert.deepEqual(v.plan, ['b/x']);
  assert.deepEqual(v.explanation.skipped.map((s) => [s.target, s.reasons]), [['a/x', ['limit']]]);
  assert.match(v.explanation.skipped[0]!.detail, /^rpm 1\/1, resets in \d+ s$/);
  await store.close();
});
