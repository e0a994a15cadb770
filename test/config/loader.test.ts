import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { ConfigError } from '../../src/config/errors.ts';
import { loadConfigFile } from '../../src/config/loader.ts';
import { scratchDir, smallConfig } from '../support/unit/config.ts';

const scratch = scratchDir();
after(() => scratch.cleanup());

const ENV: NodeJS.ProcessEnv = { P1_KEY: 'p1-secret' };
const HASH = 'a'.repeat(64);

/** Loads `text` from a file named `name` and returns the ConfigError it must throw. */
function configError(name: string, text: string, env: NodeJS.ProcessEnv = ENV): { file: string; err: ConfigError } {
  const file = scratch.write(name, text);
  let caught: unknown;
  try {
    loadConfigFile(file, env, 1);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  assert.equal(caught.file, file);
  // `file:line: path: problem` when the problem's node is found in the file, else `file: …`
  assert.match(caught.message.slice(file.length), /^(:\d+)?: /, caught.message);
  return { file, err: caught };
}

describe('loadConfigFile: valid', () => {
  test('a small file loads with the schema defaults applied', () => {
    const config = loadConfigFile(scratch.write('ok.yaml', smallConfig()), ENV, 7);
    assert.equal(config.version, 7);
    assert.equal(config.listen, '127.0.0.1:50051');
    assert.equal(config.metricsListen, '127.0.0.1:9464');
    assert.equal(config.maxBodyBytes, 16 * 1024 * 1024);
    const m1 = config.models.get('m1')!;
    assert.equal(m1.defaultMaxTokens, 4096);
    assert.equal(m1.ownedBy, 'llm-extproc');
    assert.deepEqual([...config.callersByKeyHash.values()].map((k) => [k.name, k.team, k.scope.unrestricted, k.disabled]), [['caller', 'default', true, false]]);
    assert.ok(Object.isFrozen(config));
  });

  test('a file that cannot be read names the file and the reason', () => {
    const missing = `${scratch.dir}/does-not-exist.yaml`;
    assert.throws(
      () => loadConfigFile(missing, ENV, 1),
      (err: unknown) => err instanceof ConfigError && err.file === missing && /cannot be read \(ENOENT\)/.test(err.message),
    );
  });
});

describe('loadConfigFile: each invalid file names file, path and expectation', () => {
  test('bad YAML: line and column', () => {
    const { err } = configError('bad-yaml.yaml', 'providers:\n  p1: { dialect: openai\nmodels: {}\n');
    assert.equal(err.where, 'line 3, column 1');
    assert.match(err.message, /: line 3, column 1: invalid YAML: /);
  });

  test('duplicate mapping key: a YAML error at the second occurrence', () => {
    const text = `providers:\n  p1: { dialect: openai }\n  p1: { dialect: gemini }\nmodels: {}\nkeys:\n  - { name: k, sha256: ${HASH} }\n`;
    const { err } = configError('dup-key.yaml', text);
    assert.equal(err.where, 'line 3, column 3');
    assert.match(err.problem, /invalid YAML: .*unique/);
  });

  test('duplicate caller key: the second entry is named', () => {
    const keys = `keys:\n  - { name: first, sha256: ${HASH} }\n  - { name: second, sha256: ${HASH} }\n`;
    const { err } = configError('dup-caller.yaml', smallConfig({ keys }));
    assert.equal(err.where, 'keys[1].sha256');
    assert.match(err.message, /listed twice \(also as "first"\)/);
  });

  test('unknown key (strict): the containing path and the key', () => {
    const models = 'models:\n  m1:\n    targets: [{ provider: p1, model: x }]\n    fallback: true\n';
    const { err } = configError('unknown-key.yaml', smallConfig({ models }));
    assert.equal(err.where, 'models.m1');
    assert.match(err.message, /models\.m1: .*"fallback"/);
  });

  test('unknown key (strict): says which keys were expected', () => {
    const models = 'models:\n  m1:\n    targets: [{ provider: p1, model: x }]\n    fallback: true\n';
    const { err } = configError('unknown-key-expected.yaml', smallConfig({ models }));
    // The user has to learn what is allowed there: targets, defaultMaxTokens, ownedBy.
    assert.match(err.message, /targets/, err.message);
    assert.match(err.message, /defaultMaxTokens/, err.message);
  });

  test('unknown provider: models.<name>.targets[i].provider and the known providers', () => {
    const models = 'models:\n  m1:\n    targets:\n      - { provider: p1, model: a }\n      - { provider: nope, model: b }\n';
    const { err } = configError('unknown-provider.yaml', smallConfig({ models }));
    assert.equal(err.where, 'models.m1.targets[1].provider');
    assert.match(err.message, /unknown provider "nope" \(expected one of: p1\)/);
  });

  test('missing env var for apiKeyEnv', () => {
    const { err } = configError('no-env.yaml', smallConfig(), {});
    assert.equal(err.where, 'providers.p1.apiKeyEnv');
    assert.match(err.message, /environment variable P1_KEY is not set/);
  });

  test('empty env var for apiKeyEnv counts as missing', () => {
    const { err } = configError('empty-env.yaml', smallConfig(), { P1_KEY: '' });
    assert.equal(err.where, 'providers.p1.apiKeyEnv');
  });

  test('missing env var for fromEnv', () => {
    const { err } = configError('no-caller-env.yaml', smallConfig({ keys: 'keys:\n  - { name: k, fromEnv: CALLER_KEY }\n' }));
    assert.equal(err.where, 'keys[0].fromEnv');
    assert.match(err.message, /environment variable CALLER_KEY is not set/);
  });

  test('too many targets: at most 4', () => {
    const models = `models:\n  m1:\n    targets:\n${'      - { provider: p1, model: x }\n'.repeat(5)}`;
    const { err } = configError('too-many.yaml', smallConfig({ models }));
    assert.equal(err.where, 'models.m1.targets');
    assert.match(err.message, /at most 4 targets/);
  });

  test('no targets', () => {
    const { err } = configError('no-targets.yaml', smallConfig({ models: 'models:\n  m1:\n    targets: []\n' }));
    assert.equal(err.where, 'models.m1.targets');
  });

  test('bad sha256', () => {
    const { err } = configError('bad-sha.yaml', smallConfig({ keys: `keys:\n  - { name: k, sha256: ${'A'.repeat(64)} }\n` }));
    assert.equal(err.where, 'keys[0].sha256');
    assert.match(err.message, /64 lower-case hex characters/);
  });

  test('both or neither of sha256/fromEnv', () => {
    const both = configError('both.yaml', smallConfig({ keys: `keys:\n  - { name: k, sha256: ${HASH}, fromEnv: X }\n` })).err;
    assert.equal(both.where, 'keys[0]');
    assert.match(both.message, /exactly one of sha256 or fromEnv/);
    const neither = configError('neither.yaml', smallConfig({ keys: 'keys:\n  - { name: k }\n' })).err;
    assert.equal(neither.where, 'keys[0]');
  });

  test('unknown dialect lists the dialects', () => {
    const { err } = configError('dialect.yaml', smallConfig({ providers: 'providers:\n  p1: { dialect: cohere }\n' }));
    assert.equal(err.where, 'providers.p1.dialect');
    assert.match(err.message, /openai.*anthropic.*gemini/);
  });

  test('basePath with a trailing slash', () => {
    const { err } = configError('base.yaml', smallConfig({ providers: 'providers:\n  p1: { dialect: openai, basePath: /v1/ }\n' }));
    assert.equal(err.where, 'providers.p1.basePath');
    assert.match(err.message, /without a trailing slash/);
  });

  test('bad provider name: says what a name may contain', () => {
    const { err } = configError('provider-name.yaml', smallConfig({ providers: 'providers:\n  P1: { dialect: openai }\n' }));
    assert.equal(err.where, 'providers.P1');
    // The schema's own message for the key regex, not zod's generic "Invalid key in record".
    assert.match(err.message, /lower-case letters, digits/, err.message);
  });

  test('two providers on one cluster', () => {
    const providers = 'providers:\n  p1: { dialect: openai, cluster: shared }\n  p2: { dialect: gemini, cluster: shared }\n';
    const { err } = configError('cluster.yaml', smallConfig({ providers }));
    assert.equal(err.where, 'providers.p2.cluster');
    assert.match(err.message, /cluster "shared" is already used by provider "p1"/);
  });

  test('maxBodyBytes out of range', () => {
    const { err } = configError('server.yaml', smallConfig({ server: 'server:\n  maxBodyBytes: 10\n' }));
    assert.equal(err.where, 'server.maxBodyBytes');
  });

  test('several problems: every one named, with its line', () => {
    const keys = `keys:\n  - { name: a, sha256: bad }\n  - { name: b, sha256: bad }\n`;
    const text = smallConfig({ keys });
    const { file, err } = configError('several.yaml', text);
    assert.equal(err.where, 'keys[0].sha256');
    const lines = text.split('\n');
    const lineOf = (needle: string): number => lines.findIndex((l) => l.includes(needle)) + 1;
    assert.equal(err.line, lineOf('name: a,'));
    assert.ok(err.message.startsWith(`${file}:${lineOf('name: a,')}: keys[0].sha256: `), err.message);
    assert.match(err.message, new RegExp(`; also line ${lineOf('name: b,')}, keys\\[1\\]\\.sha256: `), err.message);
    assert.doesNotMatch(err.message, /more problem/);
  });

  test('more than 8 problems: 8 named, the rest counted', () => {
    const keys = `keys:\n${Array.from({ length: 10 }, (_, i) => `  - { name: k${i}, sha256: bad }\n`).join('')}`;
    const { err } = configError('many.yaml', smallConfig({ keys }));
    assert.equal(err.message.split('; also ').length, 8, err.message);
    assert.match(err.message, /\(and 2 more problem\(s\)\)$/);
  });

  test('a check across sections (an unknown provider) names its line too, a model name with dots included', () => {
    const models = 'models:\n  gpt-4.1:\n    targets:\n      - { provider: p1, model: x }\n      - { provider: opnai, model: y }\n';
    const text = smallConfig({ models });
    const { file, err } = configError('cross.yaml', text);
    const line = text.split('\n').findIndex((l) => l.includes('provider: opnai')) + 1;
    assert.equal(err.where, 'models.gpt-4.1.targets[1].provider');
    assert.equal(err.line, line);
    assert.ok(err.message.startsWith(`${file}:${line}: models.gpt-4.1.targets[1].provider: unknown provider "opnai"`), err.message);
  });

  test('a section left out reads "missing", not zod\'s "received undefined"', () => {
    const { err } = configError('no-models.yaml', smallConfig().replace(/^models:[\s\S]*?(?=^keys:)/m, ''));
    assert.equal(err.where, 'models');
    assert.match(err.message, /models: missing \(expected record\)/);
  });

  test('an empty file asks for an object', () => {
    const { err } = configError('empty.yaml', '');
    assert.match(err.message, /expected object/);
  });

  test('no secret value appears in any message', () => {
    const file = scratch.write('secret.yaml', smallConfig({ models: 'models:\n  m1:\n    targets: [{ provider: nope, model: x }]\n' }));
    assert.throws(
      () => loadConfigFile(file, { P1_KEY: 'p1-very-secret' }, 1),
      (err: unknown) => err instanceof ConfigError && !err.message.includes('p1-very-secret'),
    );
  });
});
