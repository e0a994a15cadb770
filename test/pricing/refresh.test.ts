import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { ConfigStore } from '../../src/config/store.ts';
import { bundledCatalogueData, installCatalogueData } from '../../src/pricing/catalogue-data.ts';
import { PriceRefresher } from '../../src/pricing/refresh.ts';
import { redactedLocation, type PriceSource } from '../../src/pricing/source-schema.ts';
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
  const tables: Array<number | undefined> = [];
  const r = new PriceRefresher({
    rebuild: () => configs.rebuild(),
    log: { warn: (fields, msg) => lines.push({ level: 'warn', fields, msg }), info: (fields, msg) => lines.push({ level: 'info', fields, msg }) },
    onResult: (ok) => results.push(ok),
    onTable: (atMs) => tables.push(atMs),
    now: () => clock.ms,
  });
  return { r, lines, results, tables, clock };
}
const source = (kind: 'file' | 'url', location: string): PriceSource => ({ kind, location, display: kind === 'url' ? redactedLocation(location) : location, intervalMs: 3_600_000, timeoutMs: 2000 });
const priceSourceOf = (model: string, i = 0): string => configs.current.models.get(model)!.targets[i]!.price.source;
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

describe('a refresh rebuilds the config in force, not the file on disk', () => {
  test('a refused gateway.yaml on disk neither fails a refresh nor slips in through it', async () => {
    const good = readFileSync(cfg.file, 'utf8');
    const { r, lines, results } = refresher();
    try {
      writeFileSync(cfg.file, `${good}\nnot: [valid`);
      assert.equal(configs.reload(), false, 'the reload refuses the file');
      writeFileSync(priceFile, own(7, 9));
      assert.equal(await r.configure(source('file', priceFile)), true, 'the refresh succeeds anyway');
      assert.equal(inputPrice('gpt-4o-mini'), 7);
      assert.deepEqual(results, [true]);
      assert.equal(lines.length, 0, 'no "price refresh failed" line');

      // A valid change not reloaded yet (the watcher's job) is not applied by a refresh either.
      writeFileSync(cfg.file, good.replace('aliases: [mini]', 'aliases: [mini, tiny]'));
      assert.equal(await r.refresh(), true);
      assert.equal(configs.current.aliases.has('tiny'), false);
      assert.equal(configs.current.aliases.has('mini'), true);
    } finally {
      r.stop();
      writeFileSync(cfg.file, good);
    }
  });
});

describe('where a price comes from (Price.source) and what is shown of a source', () => {
  test('an own-format file names itself for its entries; the rest stay the bundled catalogue’s and the overrides gateway.yaml’s', async () => {
    const { r } = refresher();
    assert.equal(priceSourceOf('gpt-4o-mini'), 'catalogue openai/gpt-4o-mini', 'bundled before any refresh');
    writeFileSync(priceFile, own(7, 9));
    assert.equal(await r.configure(source('file', priceFile)), true);
    assert.equal(priceSourceOf('gpt-4o-mini'), `price file ${priceFile}: openai/gpt-4o-mini`);
    assert.match(priceSourceOf('night-owl', 1), /^catalogue anthropic\//, 'not in the file: the bundled catalogue');
    assert.equal(priceSourceOf('night-owl', 0), 'gateway.yaml models.night-owl.targets[0].pricing');

    // A refused table puts the previous data back, and its origin with it.
    writeFileSync(priceFile, JSON.stringify((await bundledCatalogueData()).filter((p) => p.id !== 'anthropic')));
    assert.equal(await r.refresh(), false);
    r.stop();
    configs.rebuild();
    assert.equal(priceSourceOf('gpt-4o-mini'), `price file ${priceFile}: openai/gpt-4o-mini`);
  });

  test('a URL’s query values never reach a log line, the status, an error or a Price.source', async () => {
    const { r, lines } = refresher();
    const secretUrl = `${url}?token=s3cr3t-tok&v=2`;
    serve = { status: 503, body: 'down' };
    assert.equal(await r.configure(source('url', secretUrl)), false);
    assert.equal(await r.configure(source('url', 'http://127.0.0.1:1/p.json?sig=s3cr3t-sig')), false);
    serve = { status: 200, body: JSON.stringify(await bundledCatalogueData()) };
    assert.equal(await r.configure(source('url', secretUrl)), true);
    r.stop();
    const shown = JSON.stringify({ lines, status: r.status(), sources: [...configs.current.models.values()].flatMap((m) => m.targets.map((t) => t.price.source)) });
    assert.doesNotMatch(shown, /s3cr3t/);
    assert.equal(r.status().source, `${url}?token=[redacted]&v=[redacted]`);
    assert.equal(lines[0]!.fields['price_source'], `${url}?token=[redacted]&v=[redacted]`);
    assert.equal(priceSourceOf('gpt-4o-mini'), `price URL ${url}?token=[redacted]&v=[redacted]: openai/gpt-4o-mini`, 'genai-prices data: every entry is the URL’s');
  });
});

test('the table’s install time is reported as soon as a source is set, before its first refresh, and cleared without one', async () => {
  const { r, tables } = refresher({ ms: 5_000 });
  assert.equal(await r.configure(source('file', path.join(cfg.dir, 'absent.json'))), false);
  assert.deepEqual(tables, [5_000], 'the bundled table’s load time: the age exists though the first refresh failed');
  assert.equal(r.configure(undefined), undefined);
  r.stop();
  assert.deepEqual(tables, [5_000, undefined]);
});
