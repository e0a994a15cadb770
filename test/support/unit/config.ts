import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';

/** The demo config and the fake environment it needs; secrets here are test values only. */
export const DEMO_CONFIG = fileURLToPath(new URL('../../../config/gateway.yaml', import.meta.url));

export const DEMO_KEY = 'sk-gw-demo-caller-key-0001';

export const DEMO_ENV: NodeJS.ProcessEnv = Object.freeze({
  SIM_OPENAI_PRIMARY_KEY: 'sim-openai-primary-secret',
  SIM_OPENAI_BACKUP_KEY: 'sim-openai-backup-secret',
  SIM_ANTHROPIC_KEY: 'sim-anthropic-secret',
  SIM_GEMINI_KEY: 'sim-gemini-secret',
  GATEWAY_DEMO_KEY: DEMO_KEY,
  GATEWAY_DEMO_SUPPORT_KEY: `${DEMO_KEY}-support`,
});

/**
 * The demo config's text without its own policy sections (`rateLimits:`, `budgets:`, which the
 * README's walkthrough uses), for a test that appends its own: YAML refuses a key twice.
 */
export function demoConfigWithoutPolicies(): string {
  const doc = parseDocument(readFileSync(DEMO_CONFIG, 'utf8'));
  for (const section of ['rateLimits', 'budgets']) doc.delete(section);
  return doc.toString();
}

/** A scratch directory for config files; `cleanup` removes it. */
export function scratchDir(): { dir: string; write(name: string, text: string): string; cleanup(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'llmx-config-'));
  return {
    dir,
    write(name, text) {
      const file = path.join(dir, name);
      writeFileSync(file, text);
      return file;
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A small valid gateway.yaml; `models`, `providers` and `keys` blocks can be swapped. */
export function smallConfig(parts: { server?: string; providers?: string; models?: string; keys?: string } = {}): string {
  return [
    parts.server ?? '',
    // Free: these placeholder models have no price, and a config must say so (src/pricing/resolve.ts).
    parts.providers ?? 'providers:\n  p1: { dialect: openai, apiKeyEnv: P1_KEY, pricing: { free: true } }\n',
    parts.models ?? 'models:\n  m1:\n    pricing: { free: true }\n    targets:\n      - { provider: p1, model: upstream-m1 }\n',
    parts.keys ?? `keys:\n  - { name: caller, sha256: ${'a'.repeat(64)} }\n`,
  ].join('');
}
