import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfigFile } from '../../src/config/loader.ts';
import { authorizeModel } from '../../src/policy/authorize-model.ts';
import { scratchDir } from '../support/unit/config.ts';

// The README's "Keys and scopes" example must stay a valid config that does what the text says.
test("the README's Keys and scopes example loads and grants what it says", () => {
  const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
  const section = readme.slice(readme.indexOf('### Keys and scopes'));
  const yaml = /```yaml\n([\s\S]*?)```/.exec(section)![1]!;
  const providers = 'providers:\n  openai: { dialect: openai, apiKeyEnv: K }\n  anthropic: { dialect: anthropic, apiKeyEnv: K }\n  gemini: { dialect: gemini, apiKeyEnv: K }\n';
  const scratch = scratchDir();
  try {
    const config = loadConfigFile(scratch.write('gateway.yaml', providers + yaml), { K: 'x' }, 1);
    const key = (name: string) => config.keys.keys.find((k) => k.name === name)!;
    assert.equal(authorizeModel(config, key('support-bot'), 'cheap').aliasOf, 'gpt-4o-mini');
    assert.throws(() => authorizeModel(config, key('support-bot'), 'smart'), { status: 403 });
    assert.equal(authorizeModel(config, key('research'), 'smart').aliasOf, 'claude-sonnet-4-5');
    assert.throws(() => authorizeModel(config, key('research'), 'gpt-4o-mini'), { status: 403 });
    assert.equal(key('research').expiresAtMs, Date.parse('2026-12-31T23:59:59Z'));
    assert.equal(key('intern').disabled, true);
    assert.equal(config.keys.find('9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08')?.name, 'platform');
  } finally {
    scratch.cleanup();
  }
});
