import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gatewayConfigSchema } from '../../src/config/schema.ts';

const minimal = {
  providers: { p: { dialect: 'gemini' } },
  models: { m: { targets: [{ provider: 'p', model: 'x' }] } },
  keys: [{ name: 'k', fromEnv: 'K' }],
};

test('defaults: server block, defaultMaxTokens, ownedBy, team', () => {
  const parsed = gatewayConfigSchema.parse(minimal);
  assert.deepEqual(parsed.server, { listen: '127.0.0.1:50051', maxBodyBytes: 16 * 1024 * 1024, metricsListen: '127.0.0.1:9464' });
  assert.equal(parsed.models['m']!.defaultMaxTokens, 4096);
  assert.equal(parsed.models['m']!.ownedBy, 'llm-extproc');
  assert.equal(parsed.keys[0]!.team, 'default');
});

test('strict at every level', () => {
  for (const bad of [
    { ...minimal, extra: 1 },
    { ...minimal, server: { listen: 'x', typo: 1 } },
    { ...minimal, providers: { p: { dialect: 'gemini', apikeyenv: 'K' } } },
    { ...minimal, models: { m: { targets: [{ provider: 'p', model: 'x', weight: 1 }] } } },
    { ...minimal, keys: [{ name: 'k', fromEnv: 'K', hash: 'x' }] },
  ]) {
    const r = gatewayConfigSchema.safeParse(bad);
    assert.equal(r.success, false, JSON.stringify(bad));
    assert.equal(r.error!.issues[0]!.code, 'unrecognized_keys');
  }
});

test('at least one key; env var names are checked', () => {
  assert.equal(gatewayConfigSchema.safeParse({ ...minimal, keys: [] }).success, false);
  assert.equal(gatewayConfigSchema.safeParse({ ...minimal, keys: [{ name: 'k', fromEnv: '1BAD' }] }).success, false);
  assert.equal(gatewayConfigSchema.safeParse({ ...minimal, providers: { p: { dialect: 'gemini', apiKeyEnv: 'A-B' } } }).success, false);
});
