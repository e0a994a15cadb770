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
  assert.deepEqual(parsed.server, {
    listen: '127.0.0.1:50051',
    maxBodyBytes: 16 * 1024 * 1024,
    metricsListen: '127.0.0.1:9464',
    limits: { maxMessages: 4096, maxContentParts: 8192, maxJsonValues: 100_000 },
    responseCache: { enabled: true, ttlSeconds: 3600, maxEntryBytes: 1024 * 1024 },
    state: { redis: { commandTimeoutMs: 250, connectTimeoutMs: 2000, keyPrefix: 'llmx:' } },
  });
  assert.equal(parsed.models['m']!.defaultMaxTokens, 4096);
  assert.equal(parsed.models['m']!.cache, 'auto');
  assert.equal(parsed.models['m']!.ownedBy, 'llm-extproc');
  assert.equal(parsed.keys[0]!.team, 'default');
});

test('strict at every level', () => {
  for (const bad of [
    { ...minimal, extra: 1 },
    { ...minimal, server: { listen: '127.0.0.1:1', typo: 1 } },
    { ...minimal, server: { limits: { maxMessage: 10 } } },
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

test('server.limits: partial settings keep the other defaults; nonsense is refused', () => {
  const parsed = gatewayConfigSchema.parse({ ...minimal, server: { limits: { maxMessages: 10 } } });
  assert.deepEqual(parsed.server.limits, { maxMessages: 10, maxContentParts: 8192, maxJsonValues: 100_000 });
  for (const limits of [{ maxMessages: 0 }, { maxContentParts: 1.5 }, { maxJsonValues: 10 }, { maxMessages: '10' }]) {
    const r = gatewayConfigSchema.safeParse({ ...minimal, server: { limits } });
    assert.equal(r.success, false, JSON.stringify(limits));
    assert.deepEqual(r.error!.issues[0]!.path.slice(0, 2), ['server', 'limits']);
  }
});

test('server.listen: host:port or unix:/absolute/path.sock; anything else is refused with the reason', () => {
  for (const listen of ['0.0.0.0:50051', '[::1]:0', 'unix:/run/llm-extproc/extproc.sock']) {
    assert.equal(gatewayConfigSchema.parse({ ...minimal, server: { listen } }).server.listen, listen);
  }
  for (const [listen, why] of [
    ['x', /not an address/],
    ['unix:run/extproc.sock', /must be absolute/],
    [`unix:/${'a'.repeat(107)}`, /108 bytes, over the 107/],
    ['http://127.0.0.1:50051', /scheme "http:"/],
  ] as Array<[string, RegExp]>) {
    const r = gatewayConfigSchema.safeParse({ ...minimal, server: { listen } });
    assert.equal(r.success, false, listen);
    assert.deepEqual(r.error!.issues[0]!.path, ['server', 'listen']);
    assert.match(r.error!.issues[0]!.message, why);
  }
});
