import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bundledCatalogueData } from '../../src/pricing/catalogue-data.ts';
import { parsePriceTable } from '../../src/pricing/price-file.ts';
import { compilePriceSource, priceSourceSchema, redactedLocation } from '../../src/pricing/source-schema.ts';

describe('price table formats (parsePriceTable)', () => {
  test('the own format overlays the bundled catalogue: the entry first in its provider, the rest kept; a new provider is added', async () => {
    const baseline = await bundledCatalogueData();
    const parsed = parsePriceTable(JSON.stringify({ models: [{ provider: 'openai', model: 'GPT-4o-Mini', input: 1, output: 2 }, { provider: 'acme', model: 'm1', input: 3, output: 4, contextLength: 8192 }] }), baseline);
    const table = parsed.data;
    const openai = table.find((p) => p.id === 'openai')!;
    const bundledWindow = baseline.find((p) => p.id === 'openai')!.models.find((m) => m.id === 'gpt-4o-mini')!.context_window;
    assert.equal(bundledWindow, 128000);
    assert.deepEqual(openai.models[0], { id: 'gpt-4o-mini', match: { equals: 'gpt-4o-mini' }, prices: { input_mtok: 1, output_mtok: 2 }, context_window: 128000 }, 'no contextLength: the bundled window stays');
    assert.deepEqual([...(parsed.entries as Set<string>)], ['openai/gpt-4o-mini', 'acme/m1'], 'the ids the file priced');
    assert.equal(openai.models.length, baseline.find((p) => p.id === 'openai')!.models.length + 1);
    assert.deepEqual(table.find((p) => p.id === 'acme')!.models[0]!.context_window, 8192);
    assert.equal(table.length, baseline.length + 1);
  });

  test('genai-prices data is the whole table: every entry is the file’s', async () => {
    const baseline = await bundledCatalogueData();
    assert.equal(parsePriceTable(JSON.stringify(baseline), baseline).entries, 'all');
  });

  test('an entry’s own contextLength wins over the bundled window; a model the bundle lacks has none', async () => {
    const baseline = await bundledCatalogueData();
    const { data } = parsePriceTable(JSON.stringify({ models: [{ provider: 'openai', model: 'gpt-4o-mini', input: 1, output: 2, contextLength: 64000 }, { provider: 'openai', model: 'no-such-model-x', input: 1, output: 2 }] }), baseline);
    const models = data.find((p) => p.id === 'openai')!.models;
    assert.equal(models[0]!.context_window, 64000);
    assert.equal(models[1]!.context_window, undefined);
  });

  test('unreadable tables are refused naming the problem', async () => {
    const baseline = await bundledCatalogueData();
    assert.throws(() => parsePriceTable('[]', baseline), /empty provider list/);
    assert.throws(() => parsePriceTable('[{"id":"x"}]', baseline), /not genai-prices data: 0\.name/);
    assert.throws(() => parsePriceTable('{"models":[{"provider":"openai","model":"m","input":-1,"output":1}]}', baseline), /models\.0\.input/);
    assert.throws(() => parsePriceTable('{"prices":{}}', baseline), /neither genai-prices data/);
  });
});

describe('gateway.yaml pricing.source', () => {
  test('exactly one of genaiPrices, url, file; defaults of 1 h and 10 s', () => {
    assert.equal(priceSourceSchema.safeParse({ url: 'http://127.0.0.1:1/p.json', file: 'p.json' }).success, false);
    assert.equal(priceSourceSchema.safeParse({}).success, false);
    assert.equal(priceSourceSchema.safeParse({ url: 'ftp://x/p.json' }).success, false);
    const s = compilePriceSource(priceSourceSchema.parse({ genaiPrices: true }), 'https://example.test/data.json');
    assert.deepEqual(s, { kind: 'url', location: 'https://example.test/data.json', display: 'https://example.test/data.json', intervalMs: 3_600_000, timeoutMs: 10_000 });
    assert.equal(compilePriceSource(priceSourceSchema.parse({ file: 'p.json', intervalMs: 60_000 }), '')!.kind, 'file');
  });
});

test('a source URL with credentials is refused (the URL is logged)', () => {
  assert.equal(priceSourceSchema.safeParse({ url: 'https://user:secret@prices.example/p.json' }).success, false);
});

test('a source URL is shown with every query value redacted, the names kept', () => {
  assert.equal(redactedLocation('https://prices.example/p.json?token=s3cr3t&v=2&sig=abc#frag'), 'https://prices.example/p.json?token=[redacted]&v=[redacted]&sig=[redacted]#[redacted]');
  assert.equal(redactedLocation('https://prices.example/p.json'), 'https://prices.example/p.json');
  const s = compilePriceSource(priceSourceSchema.parse({ url: 'https://prices.example/p.json?key=s3cr3t' }), '')!;
  assert.equal(s.location, 'https://prices.example/p.json?key=s3cr3t', 'read from as configured');
  assert.equal(s.display, 'https://prices.example/p.json?key=[redacted]');
});
