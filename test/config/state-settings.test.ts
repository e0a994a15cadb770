import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gatewayConfigSchema } from '../../src/config/schema.ts';
import { stateSettingsChanges } from '../../src/state/redis/settings.ts';

const minimal = {
  providers: { p: { dialect: 'gemini' } },
  models: { m: { targets: [{ provider: 'p', model: 'x' }] } },
  keys: [{ name: 'k', fromEnv: 'K' }],
};
const parseState = (state: unknown) => gatewayConfigSchema.safeParse({ ...minimal, server: { state } });

test('server.state.redis: defaults, and partial settings keep the others', () => {
  assert.deepEqual(gatewayConfigSchema.parse(minimal).server.state, { redis: { commandTimeoutMs: 250, connectTimeoutMs: 2000, keyPrefix: 'llmx:' } });
  const r = parseState({ redis: { commandTimeoutMs: 100 } });
  assert.ok(r.success);
  assert.deepEqual(r.data.server.state.redis, { commandTimeoutMs: 100, connectTimeoutMs: 2000, keyPrefix: 'llmx:' });
});

test('server.state: bad values are refused with the path and what is wrong', () => {
  const cases: Array<[unknown, string[], RegExp]> = [
    [{ redis: { keyPrefix: 'llmx{a}:' } }, ['server', 'state', 'redis', 'keyPrefix'], /must not contain "\{" or "\}": the first \{…\} of a key is its Redis Cluster hash tag/],
    [{ redis: { commandTimeoutMs: 0 } }, ['server', 'state', 'redis', 'commandTimeoutMs'], />=1/],
    [{ redis: { connectTimeoutMs: 2.5 } }, ['server', 'state', 'redis', 'connectTimeoutMs'], /int/i],
    [{ redis: { commandTimeoutMs: '250' } }, ['server', 'state', 'redis', 'commandTimeoutMs'], /number/],
    [{ redis: { url: 'redis://x' } }, ['server', 'state', 'redis'], /unknown key\(s\) "url" \(expected: commandTimeoutMs, connectTimeoutMs, keyPrefix\)/],
    [{ sqlite: {} }, ['server', 'state'], /unknown key\(s\) "sqlite" \(expected: redis\)/],
  ];
  for (const [state, path, message] of cases) {
    const r = parseState(state);
    assert.equal(r.success, false, JSON.stringify(state));
    const issue = r.error!.issues[0]!;
    assert.deepEqual(issue.path, path, JSON.stringify(state));
    assert.match(issue.message, message, JSON.stringify(state));
  }
});

test('on reload, the command timeout is live and the connect timeout and key prefix wait for a restart', () => {
  const base = { redis: { commandTimeoutMs: 250, connectTimeoutMs: 2000, keyPrefix: 'llmx:' } };
  assert.deepEqual(stateSettingsChanges(base, base), { live: [], restart: [] });
  assert.deepEqual(stateSettingsChanges(base, { redis: { commandTimeoutMs: 500, connectTimeoutMs: 3000, keyPrefix: 'b:' } }), {
    live: ['server.state.redis.commandTimeoutMs'],
    restart: ['server.state.redis.connectTimeoutMs', 'server.state.redis.keyPrefix'],
  });
});
