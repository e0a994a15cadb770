import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * A gateway.yaml for the live-pricing tests: `night-owl` has override prices with a night
 * window (22:00–06:00 UTC) and a catalogue-priced fallback; `gpt-4o-mini` is catalogue-priced
 * with a half-price window 12:00–13:00 UTC. `extra` is appended at the top level.
 */
export function pricingConfig(extra = ''): { file: string; dir: string; env: NodeJS.ProcessEnv } {
  const dir = mkdtempSync(path.join(tmpdir(), 'llmx-pricing-'));
  const file = path.join(dir, 'gateway.yaml');
  writeFileSync(
    file,
    `
providers:
  openai-primary: { dialect: openai, auth: none }
  anthropic: { dialect: anthropic, auth: none }
models:
  night-owl:
    contextLength: 32000
    expectedLatencyMs: 800
    targets:
      - provider: openai-primary
        model: gpt-4o-mini
        pricing: { input: 1, cachedInput: 0.5, output: 4, windows: [{ from: "22:00", to: "06:00", input: 0.5, output: 2 }] }
      - { provider: anthropic, model: claude-sonnet-4-5-20250929, expectedLatencyMs: 3000 }
  gpt-4o-mini:
    aliases: [mini]
    targets:
      - { provider: openai-primary, model: gpt-4o-mini, pricing: { windows: [{ from: "12:00", to: "13:00", multiplier: 0.5 }] } }
keys:
  - { name: demo, team: demo, fromEnv: TEST_KEY }
  - { name: mini-only, team: demo, fromEnv: TEST_KEY_2, models: [gpt-4o-mini] }
${extra}`,
  );
  return { file, dir, env: { TEST_KEY: 'sk-test-pricing-1', TEST_KEY_2: 'sk-test-pricing-2' } };
}

/** Epoch ms of `hh:mm:ss` UTC on 2026-03-02. */
export const at = (hhmmss: string): number => Date.parse(`2026-03-02T${hhmmss}Z`);
