import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../../src/config/errors.ts';
import { loadConfigFile } from '../../src/config/loader.ts';
import { buildRuntimeConfig, sha256Hex } from '../../src/config/runtime.ts';
import { gatewayConfigSchema } from '../../src/config/schema.ts';
import { DEMO_CONFIG, DEMO_ENV, DEMO_KEY } from '../support/unit/config.ts';

describe('the demo config (config/gateway.yaml)', () => {
  const config = loadConfigFile(DEMO_CONFIG, DEMO_ENV, 1);

  test('server settings', () => {
    assert.equal(config.source, DEMO_CONFIG);
    assert.equal(config.listen, '127.0.0.1:50051');
    assert.equal(config.metricsListen, '127.0.0.1:9464');
    assert.equal(config.maxBodyBytes, 16777216);
    assert.deepEqual(config.limits, { maxMessages: 4096, maxContentParts: 8192, maxJsonValues: 100_000 });
  });

  test('models and their targets in order', () => {
    assert.deepEqual([...config.models.keys()], ['gpt-4o-mini', 'claude-sonnet-4-5', 'gemini-2.5-flash', 'chat-default', 'chat-fastest', 'chat-cheapest']);
    const chat = config.models.get('chat-default')!;
    assert.deepEqual(
      chat.targets.map((t) => [t.provider.name, t.model]),
      [
        ['anthropic', 'claude-sonnet-4-5-20250929'],
        ['gemini', 'gemini-2.5-flash'],
        ['openai-primary', 'gpt-4o-mini'],
      ],
    );
    assert.equal(config.models.get('claude-sonnet-4-5')!.defaultMaxTokens, 1024);
    assert.equal(config.models.get('gpt-4o-mini')!.defaultMaxTokens, 4096);
    // Targets share the provider objects, so the upstream filter can compare by identity.
    assert.equal(chat.targets[0]!.provider, config.models.get('claude-sonnet-4-5')!.targets[0]!.provider);
  });

  test('callers are keyed by the sha256 of the key, never the key', () => {
    assert.deepEqual(
      [...config.callersByKeyHash.entries()].map(([h, k]) => [h, k.name, k.team, k.feature, k.scope.patterns]),
      [
        [sha256Hex(DEMO_KEY), 'demo', 'demo', undefined, []],
        [sha256Hex(`${DEMO_KEY}-support`), 'demo-support', 'support', 'support-bot', ['gemini-*', 'gpt-4o-mini']],
      ],
    );
    assert.equal(config.callersByKeyHash.has(DEMO_KEY), false);
    assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  test('providers by cluster (cluster defaults to the provider name), dialect and default base path', () => {
    assert.deepEqual(
      [...config.providersByCluster.entries()].map(([cluster, p]) => [cluster, p.name, p.dialect.id, p.basePath]),
      [
        ['openai-primary', 'openai-primary', 'openai', '/v1'],
        ['openai-backup', 'openai-backup', 'openai', '/v1'],
        ['anthropic', 'anthropic', 'anthropic', '/v1'],
        ['gemini', 'gemini', 'gemini', '/v1beta'],
      ],
    );
  });

  test('auth headers per dialect carry the key from the env var', () => {
    const auth = (cluster: string) => config.providersByCluster.get(cluster)!.authHeaders;
    assert.deepEqual(auth('openai-primary'), { authorization: `Bearer ${DEMO_ENV.SIM_OPENAI_PRIMARY_KEY}` });
    assert.deepEqual(auth('openai-backup'), { authorization: `Bearer ${DEMO_ENV.SIM_OPENAI_BACKUP_KEY}` });
    assert.deepEqual(auth('anthropic'), { 'x-api-key': DEMO_ENV.SIM_ANTHROPIC_KEY });
    assert.deepEqual(auth('gemini'), { 'x-goog-api-key': DEMO_ENV.SIM_GEMINI_KEY });
    assert.ok(Object.isFrozen(auth('gemini')));
  });

  test('routing plan per model', () => {
    assert.deepEqual(config.models.get('gpt-4o-mini')!.plan.headers, {
      'x-envoy-max-retries': '1',
      'x-envoy-attempt-count': '0',
      'x-llmx-try-1': 'openai-primary',
      'x-llmx-try-2': 'openai-backup',
    });
  });

  test('/v1/models body lists every public model', () => {
    const body = JSON.parse(config.modelsListBody) as { object: string; data: Array<Record<string, unknown>> };
    assert.equal(body.object, 'list');
    assert.deepEqual(
      body.data.map((m) => [m['id'], m['object'], m['owned_by']]),
      [...config.models.keys()].map((id) => [id, 'model', 'llm-extproc']),
    );
    for (const m of body.data) assert.equal(typeof m['created'], 'number');
    // Provider model names are not the public ones and stay out of the list.
    assert.doesNotMatch(config.modelsListBody, /claude-sonnet-4-5-20250929/);
  });
});

describe('buildRuntimeConfig', () => {
  const file = (over: Record<string, unknown>) =>
    gatewayConfigSchema.parse({
      providers: { p: { dialect: 'openai' } },
      models: { m: { pricing: { free: true }, targets: [{ provider: 'p', model: 'x' }] } },
      keys: [{ name: 'k', sha256: 'b'.repeat(64) }],
      ...over,
    });

  test('explicit cluster, basePath and auth win over the defaults', () => {
    const config = buildRuntimeConfig(
      file({ providers: { p: { dialect: 'openai', cluster: 'c-1', basePath: '/compat/v1', auth: 'x-api-key', apiKeyEnv: 'K' } } }),
      'f.yaml',
      { K: 'secret' },
      1,
    );
    const p = config.providersByCluster.get('c-1')!;
    assert.equal(p.name, 'p');
    assert.equal(p.basePath, '/compat/v1');
    assert.deepEqual(p.authHeaders, { 'x-api-key': 'secret' });
  });

  test('no key, or auth: none, means no auth headers', () => {
    const none = buildRuntimeConfig(file({ providers: { p: { dialect: 'openai', auth: 'none', apiKeyEnv: 'K' } } }), 'f.yaml', { K: 's' }, 1);
    assert.deepEqual(none.providersByCluster.get('p')!.authHeaders, {});
    const keyless = buildRuntimeConfig(file({}), 'f.yaml', {}, 1);
    assert.deepEqual(keyless.providersByCluster.get('p')!.authHeaders, {});
  });

  test('a cross-field problem is a ConfigError naming the source', () => {
    assert.throws(
      () => buildRuntimeConfig(file({ models: { m: { targets: [{ provider: 'q', model: 'x' }] } } }), 'src.yaml', {}, 1),
      (err: unknown) => err instanceof ConfigError && err.file === 'src.yaml' && err.where === 'models.m.targets[0].provider',
    );
  });
});
