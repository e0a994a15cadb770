import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, describe, test } from 'node:test';
import { ConfigStore } from '../../src/config/store.ts';
import { bundledCatalogueData, installCatalogueData } from '../../src/pricing/catalogue-data.ts';
import { PriceRefresher } from '../../src/pricing/refresh.ts';

/**
 * `context_length` on GET /v1/models (src/policy/model-catalog.ts): the smallest catalogue
 * window of a model's targets (any of them may answer), the same on its aliases, kept under a
 * gateway.yaml price override and under an own-format price file entry without `contextLength`;
 * null when a target's window is unknown. Windows of the bundled catalogue: gpt-4o-mini 128,000,
 * claude-sonnet-4-5 200,000, gemini-2.5-flash 1,048,576.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'llmx-context-'));
const file = path.join(dir, 'gateway.yaml');
writeFileSync(
  file,
  `
providers:
  openai-primary: { dialect: openai, auth: none }
  anthropic: { dialect: anthropic, auth: none }
  gemini: { dialect: gemini, auth: none }
models:
  gpt-4o-mini:
    aliases: [mini]
    targets: [{ provider: openai-primary, model: gpt-4o-mini }]
  chat-fastest:
    aliases: [fast]
    targets:
      - { provider: openai-primary, model: gpt-4o-mini }
      - { provider: gemini, model: gemini-2.5-flash }
  chat-cheapest:
    targets:
      - { provider: gemini, model: gemini-2.5-flash }
      - { provider: anthropic, model: claude-sonnet-4-5-20250929 }
  overridden:
    targets: [{ provider: openai-primary, model: gpt-4o-mini, pricing: { input: 1, output: 2 } }]
  with-unknown:
    targets:
      - { provider: gemini, model: gemini-2.5-flash }
      - { provider: openai-primary, model: my-fine-tune, pricing: { input: 1, output: 2 } }
  configured:
    contextLength: 32000
    targets: [{ provider: openai-primary, model: my-fine-tune, pricing: { input: 1, output: 2 } }]
keys:
  - { name: demo, team: demo, fromEnv: TEST_KEY }
`,
);
const configs = new ConfigStore(file, { TEST_KEY: 'sk-test-context-1' });
const priceFile = path.join(dir, 'prices.json');
after(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await installCatalogueData(await bundledCatalogueData());
  configs.rebuild();
});

const contextLength = (name: string): unknown => (JSON.parse(configs.current.modelCatalog.objectBody(name)!) as { context_length: unknown }).context_length;
const all = (): Record<string, unknown> => Object.fromEntries(['gpt-4o-mini', 'mini', 'chat-fastest', 'fast', 'chat-cheapest', 'overridden', 'with-unknown', 'configured'].map((n) => [n, contextLength(n)]));
const EXPECTED = { 'gpt-4o-mini': 128000, mini: 128000, 'chat-fastest': 128000, fast: 128000, 'chat-cheapest': 200000, overridden: 128000, 'with-unknown': null, configured: 32000 };

describe('context_length', () => {
  test('the smallest window among the targets, aliases as their model, kept under a price override; null when a target’s is unknown; config wins', () => {
    assert.deepEqual(all(), EXPECTED);
  });

  test('an own-format price entry without contextLength keeps the catalogue’s window, on the model and every model and alias that uses it', async () => {
    writeFileSync(priceFile, JSON.stringify({ models: [{ provider: 'openai', model: 'gpt-4o-mini', input: 0.2, output: 0.8 }] }));
    const r = new PriceRefresher({ rebuild: () => configs.rebuild(), log: { warn: () => undefined, info: () => undefined } });
    assert.equal(await r.configure({ kind: 'file', location: priceFile, display: priceFile, intervalMs: 3_600_000, timeoutMs: 2000 }), true);
    r.stop();
    assert.equal(configs.current.models.get('gpt-4o-mini')!.targets[0]!.price.periods[0]!.rates.input, 0.2, 'the file’s price is in force');
    assert.deepEqual(all(), EXPECTED);
  });

  test('an entry’s own contextLength applies, and the models that use it follow', async () => {
    writeFileSync(priceFile, JSON.stringify({ models: [{ provider: 'openai', model: 'gpt-4o-mini', input: 0.2, output: 0.8, contextLength: 64000 }] }));
    const r = new PriceRefresher({ rebuild: () => configs.rebuild(), log: { warn: () => undefined, info: () => undefined } });
    assert.equal(await r.configure({ kind: 'file', location: priceFile, display: priceFile, intervalMs: 3_600_000, timeoutMs: 2000 }), true);
    r.stop();
    assert.deepEqual(all(), { ...EXPECTED, 'gpt-4o-mini': 64000, mini: 64000, 'chat-fastest': 64000, fast: 64000, overridden: 64000 });
  });
});
