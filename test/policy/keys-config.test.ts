import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../../src/config/errors.ts';
import { sha256Hex } from '../../src/policy/keys.ts';
import { loadScoped, scopedConfigText, SECRETS } from './fixture.ts';

/** The ConfigError a config text gets. */
function refused(text: string): ConfigError {
  try {
    loadScoped(text);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
  assert.fail('the config was accepted');
}

const H1 = sha256Hex('sk-test-extra-1');

describe('gateway.yaml keys and aliases: what is refused, with the path', () => {
  test('a duplicate key name', () => {
    const err = refused(scopedConfigText(`  - { name: support, sha256: ${H1} }\n`));
    assert.equal(err.where, 'keys[6].name');
    assert.match(err.problem, /duplicate key name "support" \(also keys\[1\]\)/);
  });

  test('a hash already used, by another key or in a rotation list', () => {
    const other = refused(scopedConfigText(`  - { name: copy, sha256: [${H1}, ${sha256Hex(SECRETS.supportNew)}] }\n`));
    assert.equal(other.where, 'keys[6].sha256[1]');
    assert.match(other.problem, /listed twice \(also as "support"\)/);
    const same = refused(scopedConfigText(`  - { name: twice, sha256: [${H1}, ${H1}] }\n`));
    assert.equal(same.where, 'keys[6].sha256[1]');
  });

  test('an alias that is a model name, or another model\'s alias', () => {
    const asModel = refused(scopedConfigText().replace('aliases: [smart]', 'aliases: [gpt-4o-mini]'));
    assert.equal(asModel.where, 'models.gpt-4o.aliases[0]');
    assert.match(asModel.problem, /already a model name/);
    const twice = refused(scopedConfigText().replace('aliases: [smart]', 'aliases: [smart, cheap]'));
    assert.equal(twice.where, 'models.gpt-4o.aliases[1]');
    assert.match(twice.problem, /already defined at models\.gpt-4o-mini\.aliases\[0\]/);
  });

  test('patterns and names outside the safe character set', () => {
    const cyrillic = refused(scopedConfigText(`  - { name: x, sha256: ${H1}, models: ['gpt-4\u043e-mini'] }\n`));
    assert.equal(cyrillic.where, 'keys[6].models[0]');
    assert.match(cyrillic.problem, /no spaces, no Unicode/);
    assert.equal(refused(scopedConfigText(`  - { name: x, sha256: ${H1}, models: ['gpt-4o-mini '] }\n`)).where, 'keys[6].models[0]');
    assert.equal(refused(scopedConfigText(`  - { name: x, sha256: ${H1}, models: ['gpt%2D4o'] }\n`)).where, 'keys[6].models[0]');
    assert.equal(refused(scopedConfigText().replace('aliases: [fast]', 'aliases: [f\u0430st]')).where, 'models.gemini-2.5-flash.aliases[0]');
    // Team and feature names are part of state keys (the Redis hash tag {t:<team>}): identifiers only.
    assert.equal(refused(scopedConfigText(`  - { name: x, sha256: ${H1}, team: 'a}b' }\n`)).where, 'keys[6].team');
    assert.equal(refused(scopedConfigText(`  - { name: x, sha256: ${H1}, feature: 'support bot' }\n`)).where, 'keys[6].feature');
  });

  test('a literal pattern that names no model or alias (a typo grants nothing, loudly)', () => {
    const err = refused(scopedConfigText(`  - { name: x, sha256: ${H1}, models: [gpt-4o-mnii] }\n`));
    assert.equal(err.where, 'keys[6].models[0]');
    assert.match(err.problem, /"gpt-4o-mnii" names no model or alias/);
    // A case change is another name, so it names nothing too.
    assert.equal(refused(scopedConfigText(`  - { name: x, sha256: ${H1}, models: [GPT-4o-mini] }\n`)).where, 'keys[6].models[0]');
  });

  test('expiresAt must be an ISO 8601 UTC date-time', () => {
    for (const bad of ['2026-06-01', '2026-06-01T00:00:00+02:00', 'tomorrow']) {
      const err = refused(scopedConfigText(`  - { name: x, sha256: ${H1}, expiresAt: '${bad}' }\n`));
      assert.equal(err.where, 'keys[6].expiresAt', bad);
      assert.match(err.problem, /ISO 8601 UTC/);
    }
  });

  test('an unknown field lists the fields a key has', () => {
    const err = refused(scopedConfigText(`  - { name: x, sha256: ${H1}, scopes: [gpt-4o] }\n`));
    assert.equal(err.where, 'keys[6]');
    assert.match(err.problem, /unknown key\(s\) "scopes" \(expected: name, team, feature, sha256, fromEnv, models, disabled, expiresAt, usageCost, explain\)/);
  });

  test('an empty models list is refused (absent means every model)', () => {
    assert.equal(refused(scopedConfigText(`  - { name: x, sha256: ${H1}, models: [] }\n`)).where, 'keys[6].models');
  });
});
