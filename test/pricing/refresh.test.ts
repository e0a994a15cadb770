import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { ConfigStore } from '../../src/config/store.ts';
import { bundledCatalogueData, installCatalogueData } from '../../src/pricing/catalogue-data.ts';
import { PriceRefresher } from '../../src/pricing/refresh.ts';
import type { PriceSource } from '../../src/pricing/source-schema.ts';
import { pricingConfig } from './fixture.ts';

const cfg = pricingConfig();
const configs = new ConfigStore(cfg.file, cfg.env);
const priceFile = path.join(cfg.dir, 'prices.json');
let server: Server;
let serve: { status: number; body: string } = { status: 200, body: '' };
let url = '';

before(async () => {
  server = createServer((_req, res) => res.writeHead(serve.status, { 'content-type': 'application/json' }).end(serve.body));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/prices.json`;
});
after(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(cfg.dir, { recursive: true, force: true });
});
// Each test starts from the bundled catalogue (genai-prices' data is one per process).
afterEach(async () => {
  await installCatalogueData(await bundledCatalogueData());
  configs.rebuild();
});

function refresher(clock = { ms: 1_000_000 }) {
  const lines: Array<{ level: string; fields: Record<string, unknown>; msg: string }> = [];
  const results: boolean[] = [];
  const r = new PriceRefresher({
    rebuild: () => configs.rebuild(),
    log: { warn: (fields, msg) => lines.push({ level: 'warn', fields, msg }), info: (fields, msg) => lines.push({ level: 'info', fields, msg }) },
    onResult: (ok) => results.push(ok),
    now: () => clock.ms,
  });
  return { r, lines, results, clock };
}
const source = (kind: 'file' | 'url', location: string): PriceSource => ({ kind, location, intervalMs: 3_600_000, timeoutMs: 2000 });
/** USD per 1M input tokens of a target, read from the rebuilt config's compiled price. */
const inputPrice = (model: string, i = 0): unknown => configs.current.models.get(model)!.targets[i]!.price.periods[0]!.rates.input;
const own = (input: number, output: number) => JSON.stringify({ models: [{ provider: 'openai', model: 'gpt-4o-mini', input, cachedInput: input / 2, output, contextLength: 64000 }] });

describe('price refresh (PriceRefresher)', () => {
  test('an own-format file replaces the catalogue’s price; gateway.yaml overrides still win', async () => {
    const { r, results } = refresher();
    const bundled = inputPrice('gpt-4o-mini');
    writeFileSync(priceFile, own(7, 9));
    assert.equal(await r.configure(source('file', priceFile)), true);
    r.stop();
    assert.equal(inputPrice('gpt-4o-mini'), 7, 'the catalogue-priced target takes the refreshed price');
    assert.notEqual(bundled, 7);
    assert.equal(inputPrice('night-owl'), 1, 'the override target keeps gateway.yaml’s price');
    assert.equal(configs.current.models.get('gpt-4o-mini')!.targets[0]!.price.contextWindow, 64000);
    const listed = JSON.parse(configs.current.modelCatalog.objectBody('gpt-4o-mini', Date.parse('2026-03-02T09:00:00Z'))!) as { pricing: { input: number; output: number }; context_length: number };
    assert.deepEqual([listed.pricing.input, listed.pricing.output, listed.context_length], [7, 9, 64000], 'GET /v1/models shows it');
    assert.deepEqual(results, [true]);
  });

  test('genai-prices data from a URL (the library’s format); a failure keeps the last good table, logged once, then recovery logged', async () => {
    const { r, lines, results, clock } = refresher();
    const data = structuredClone(await bundledCatalogueData());
    const openai = data.find((p) => p.id === 'openai')!;
    openai.models = [{ id: 'gpt-4o-mini', match: { equals: 'gpt-4o-mini' }, prices: { input_mtok: 3, output_mtok: 5 } }, ...openai.models];
    serve = { status: 200, body: JSON.stringify(data) };
    assert.equal(await r.configure(source('url', url)), true);
    assert.equal(inputPrice('gpt-4o-mini'), 3);
    const good = r.status().lastSuccessMs;
    assert.equal(good, 1_000_000);

    clock.ms += 3_600_000;
    serve = { status: 503, body: 'down' };
    assert.equal(await r.refresh(), false);
    serve = { status: 200, body: '{"not":"prices"' };
    assert.equal(await r.refresh(), false);
    assert.equal(inputPrice('gpt-4o-mini'), 3, 'the last good price keeps serving');
    const st = r.status();
    assert.equal(st.failures, 2);
    assert.equal(st.lastSuccessMs, good);
    assert.match(st.lastError!, /not JSON/);
    assert.equal(r.ageSeconds(), 3600, 'the age grows while refreshes fail');
    assert.equal(lines.filter((l) => l.level === 'warn').length, 1, 'logged once per run of failures');
    assert.equal(lines[0]!.fields['error'], 'HTTP 503');

    serve = { status: 200, body: own(2, 4) };
    assert.equal(await r.refresh(), true);
    r.stop();
    assert.equal(inputPrice('gpt-4o-mini'), 2);
    assert.deepEqual(lines.map((l) => l.level), ['warn', 'info']);
    assert.deepEqual(results, [true, false, false, true]);
    assert.equal(r.ageSeconds(), 0);
  });

  test('data that leaves a configured target without a price is refused, and the catalogue stays as it was', async () => {
    const { r } = refresher();
    const data = structuredClone(await bundledCatalogueData());
    serve = { status: 200, body: JSON.stringify(data.filter((p) => p.id !== 'anthropic')) };
    const version = configs.current.version;
    const before = inputPrice('night-owl', 1);
    assert.equal(await r.configure(source('url', url)), false);
    r.stop();
    assert.equal(configs.current.version, version, 'the config was not swapped');
    assert.match(r.status().lastError!, /no price for model "claude-sonnet-4-5-20250929"/);
    configs.rebuild(); // would throw if the library still held the refused data
    assert.deepEqual(inputPrice('night-owl', 1), before);
  });

  test('an unreachable source and a missing file fail the same way', async () => {
    const { r } = refresher();
    assert.equal(await r.configure(source('file', path.join(cfg.dir, 'absent.json'))), false);
    assert.equal(await r.configure(source('url', 'http://127.0.0.1:1/prices.json')), false);
    r.stop();
    assert.equal(r.status().failures, 2);
  });
});
