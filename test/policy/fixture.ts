import { loadConfigFile } from '../../src/config/loader.ts';
import type { RuntimeConfig } from '../../src/config/runtime.ts';
import { sha256Hex } from '../../src/policy/keys.ts';
import { scratchDir } from '../support/unit/config.ts';

/** Secrets of the keys in SCOPED_CONFIG (test values only). */
export const SECRETS = {
  full: 'sk-test-full-0001',
  supportOld: 'sk-test-support-old-0001',
  supportNew: 'sk-test-support-new-0002',
  aliasOnly: 'sk-test-alias-only-0001',
  globs: 'sk-test-globs-0001',
  off: 'sk-test-disabled-0001',
  expiring: 'sk-test-expiring-0001',
} as const;

export const EXPIRES_AT = '2026-06-01T00:00:00Z';

export const ENV = { OA_KEY: 'oa-secret', GM_KEY: 'gm-secret' };

/** Three models with an alias each, and keys of every kind the scope rules care about. */
export function scopedConfigText(extraKeys = ''): string {
  const h = (s: string) => sha256Hex(s);
  return `providers:
  oa: { dialect: openai, apiKeyEnv: OA_KEY }
  gm: { dialect: gemini, apiKeyEnv: GM_KEY }
models:
  gpt-4o-mini:
    targets: [{ provider: oa, model: gpt-4o-mini }]
    aliases: [cheap]
  gpt-4o:
    targets: [{ provider: oa, model: gpt-4o }]
    aliases: [smart]
  gemini-2.5-flash:
    targets: [{ provider: gm, model: gemini-2.5-flash }]
    aliases: [fast]
keys:
  - { name: full, team: platform, sha256: ${h(SECRETS.full)} }
  - name: support
    team: support
    feature: support-bot
    sha256: [${h(SECRETS.supportOld)}, ${h(SECRETS.supportNew)}]
    models: [gpt-4o-mini, 'gemini-*-flash*']
  - { name: alias-only, team: support, sha256: ${h(SECRETS.aliasOnly)}, models: [cheap] }
  - { name: globs, team: research, sha256: ${h(SECRETS.globs)}, models: ['ch*', 'sm*', 'fa*'] }
  - { name: off, team: support, disabled: true, sha256: ${h(SECRETS.off)} }
  - { name: expiring, team: support, expiresAt: '${EXPIRES_AT}', sha256: ${h(SECRETS.expiring)} }
${extraKeys}`;
}

export function loadScoped(text = scopedConfigText()): RuntimeConfig {
  const scratch = scratchDir();
  try {
    return loadConfigFile(scratch.write('gateway.yaml', text), ENV, 1);
  } finally {
    scratch.cleanup();
  }
}
