import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { chromium, type Browser, type Page } from 'playwright-core';
import { waitUntil } from '../../src/lib/wait-until.ts';
import { hello, startTestStack, type TestStack } from '../support/e2e.ts';

/**
 * The admin dashboard (issue 10 item 7) in a real browser: Debian's chromium driven by
 * playwright-core, after real traffic through Envoy with the openai SDK (two providers and
 * three wire formats, a failover, a cache miss and hit, a stream, a budgeted team's request).
 * A wrong admin key is refused; with the right one every chart renders non-zero data, the tiles
 * equal /metrics, the estimator form ranks rows, recent requests show no prompt, and the page is
 * saved as a screenshot: into the OS temp dir, or where DASHBOARD_SCREENSHOT says
 * (`DASHBOARD_SCREENSHOT=docs/dashboard.png` refreshes the README's image), so a test run does
 * not rewrite a tracked file.
 */
const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const SCREENSHOT = path.resolve(process.env.DASHBOARD_SCREENSHOT ?? path.join(tmpdir(), 'llmx-dashboard.png'));
const PROMPT = 'Hello there';

describe('admin dashboard in a browser (e2e)', () => {
  let gw: TestStack;
  let browser: Browser;
  let page: Page;
  const ids: string[] = [];
  let dashboardUrl: string;

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `no chromium at ${CHROMIUM}: apt-get install chromium (.ci/run does), or set CHROMIUM_BIN`);
    gw = await startTestStack();
    dashboardUrl = `${gw.adminApiUrl}/admin/dashboard`;
    const demo = gw.client();
    const json = async (c: OpenAI, body: OpenAI.ChatCompletionCreateParamsNonStreaming): Promise<void> => {
      const { response } = await c.chat.completions.create(body).withResponse();
      ids.push(response.headers.get('x-request-id')!);
    };
    await json(demo, { model: 'gpt-4o-mini', messages: hello });
    await json(demo, { model: 'claude-sonnet-4-5', messages: hello });
    const { data, response } = await demo.chat.completions.create({ model: 'gemini-2.5-flash', messages: hello, stream: true, stream_options: { include_usage: true } }).withResponse();
    for await (const _ of data);
    ids.push(response.headers.get('x-request-id')!);
    // A deterministic request twice: a miss, then a hit from the response cache.
    await json(demo, { model: 'gpt-4o-mini', messages: hello, temperature: 0, max_tokens: 20 });
    await json(demo, { model: 'gpt-4o-mini', messages: hello, temperature: 0, max_tokens: 20 });
    // Not a request for a model: counted apart in the tiles, not a recent row.
    assert.ok((await demo.models.list()).data.length > 0);
    // The primary answers 503: Envoy fails over to the backup.
    gw.sims['openai-primary']!.enqueueFault({ status: 503 });
    await json(demo, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'failover please' }] });
    // Team research has a budget (config/gateway.yaml): a key made with the admin API spends some
    // of it (a small max_tokens: the reservation must fit its 0.001 USD).
    const created = await fetch(`${gw.adminApiUrl}/admin/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.adminApiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'dashboard-research', team: 'research', models: ['gpt-4o-mini'] }),
    });
    assert.equal(created.status, 201);
    await json(gw.client({ apiKey: ((await created.json()) as { key: string }).key }), { model: 'gpt-4o-mini', messages: hello, max_tokens: 20 });
    for (const id of ids) await gw.requestLog(id);
    // The failed attempt comes from Envoy's upstream log; the spend history is written each second.
    await waitUntil('the failed attempt to be counted', async () => (await gw.metric('gateway_upstream_attempt_outcomes_total', { provider: 'openai-primary', result: 'error' })) >= 1, 5000);
    await waitUntil('the spend history to hold every served request', async () => {
      const res = await fetch(`${gw.adminApiUrl}/admin/spend`, { headers: { authorization: `Bearer ${gw.adminApiKey}` } });
      return ((await res.json()) as { total: { requests: number } }).total.requests >= 6;
    }, 5000);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    // A laptop screen.
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  });
  after(async () => {
    await browser?.close();
    await gw?.dispose();
  });

  it('refuses a wrong admin key, in the page and at the data API', async () => {
    const api = await fetch(`${dashboardUrl}/data`, { headers: { authorization: 'Bearer sk-llmx-admin-wrong' } });
    assert.equal(api.status, 401);
    assert.equal(((await api.json()) as { error: { code: string } }).error.code, 'invalid_api_key');
    assert.equal((await fetch(`${dashboardUrl}/data`)).status, 401, 'no key');
    await page.goto(dashboardUrl);
    await page.fill('#admin-key', 'sk-llmx-admin-wrong');
    await page.click('#login-form button[type=submit]');
    await page.waitForFunction(() => document.getElementById('login-error')!.textContent !== '');
    assert.match((await page.textContent('#login-error'))!, /refused/);
    assert.equal(await page.isHidden('#dashboard'), true);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('llmx-admin-key')), null, 'a refused key is not kept');
  });

  it('logs in with the admin key and draws every chart with non-zero data', async () => {
    await page.fill('#admin-key', gw.adminApiKey);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('body[data-loaded]');
    assert.ok(!page.url().includes(gw.adminApiKey), 'the key is never in the URL');
    const charts = await page.evaluate(() =>
      [...document.querySelectorAll<HTMLCanvasElement>('canvas[data-chart]')].map((c) => {
        const chart = (window as unknown as { Chart: { getChart(c: HTMLCanvasElement): { data: { datasets: Array<{ data: Array<number | null> }> } } | undefined } }).Chart.getChart(c);
        const values = chart ? chart.data.datasets.flatMap((d) => d.data).filter((v): v is number => typeof v === 'number') : [];
        return { id: c.id, drawn: chart !== undefined && c.width > 0 && c.height > 0, points: values.length, max: Math.max(0, ...values) };
      }),
    );
    assert.deepEqual(charts.map((c) => c.id).sort(), ['chart-budgets', 'chart-cache', 'chart-errors', 'chart-latency', 'chart-spend-provider', 'chart-spend-team', 'chart-tokens']);
    for (const c of charts) {
      assert.ok(c.drawn, `${c.id} is drawn`);
      assert.ok(c.points > 0 && c.max > 0, `${c.id} has non-zero data: ${JSON.stringify(c)}`);
    }
    const breakers = await page.$$eval('#breakers tbody tr', (rows) => rows.map((r) => r.textContent));
    assert.ok(breakers.length > 0, 'one row per target');
    assert.ok((await page.$$('#prices tbody tr')).length > 0, 'the price table');
    assert.match((await page.textContent('#price-age'))!, /loaded \d+ s ago/);
  });

  it('shows the totals /metrics shows', async () => {
    const shown = async (id: string): Promise<{ value: number; text: string }> => ({
      value: Number(await page.getAttribute(`#${id}`, 'data-value')),
      text: (await page.textContent(`#${id}`))!,
    });
    const cost = await shown('total-cost');
    const metricCost = await gw.metric('gateway_cost_usd_total', {});
    assert.ok(metricCost > 0);
    assert.equal(cost.value, metricCost, 'cost: the same figure');
    assert.ok(Math.abs(Number(cost.text.replace('$', '')) - metricCost) < 5e-9, `cost as shown: ${cost.text} vs ${metricCost}`);
    for (const [id, direction] of [['total-tokens-in', 'input'], ['total-tokens-out', 'output']] as const) {
      const t = await shown(id);
      const m = await gw.metric('gateway_tokens_total', { direction });
      assert.ok(m > 0);
      assert.equal(t.value, m, `${direction} tokens`);
      assert.equal(Number(t.text.replaceAll(',', '')), m, `${direction} tokens as shown`);
    }
    // Model requests: gateway_requests_total{model!=""}; the model list and refusals before a model apart.
    const withoutModel = await gw.metric('gateway_requests_total', { model: '' });
    assert.equal((await shown('total-requests')).value, (await gw.metric('gateway_requests_total', {})) - withoutModel);
    assert.ok(withoutModel >= 1, 'GET /v1/models');
    assert.equal((await shown('other-requests')).value, withoutModel);
    assert.equal((await shown('cache-hit-rate')).value, 0.5, 'one hit of two lookups');
    assert.equal((await shown('cache-saved')).value, await gw.metric('gateway_cache_saved_cost_usd_total', {}));
  });

  it('runs the cost estimator form and lists ranked rows', async () => {
    await page.fill('#estimate-form input[name=requestsPerDay]', '50000');
    await page.fill('#estimate-form input[name=inputTokens]', '800');
    await page.fill('#estimate-form input[name=outputTokens]', '200');
    await page.click('#estimate-form button[type=submit]');
    await page.waitForSelector('#estimate tbody tr');
    const rows = await page.$$eval('#estimate tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    assert.ok(rows.length >= 4, 'a row per (model, target)');
    assert.equal(rows[0]![0], '1');
    const ranked = rows.filter((r) => r[0] !== '–');
    const monthly = ranked.map((r) => Number(r[3]));
    assert.deepEqual(ranked.map((r) => Number(r[0])), ranked.map((_, i) => i + 1));
    assert.deepEqual(monthly, [...monthly].sort((a, b) => a - b), 'ranked by monthly cost');
    assert.ok(monthly.every((m) => m > 0));
  });

  it('lists recent requests without prompts, and saves a screenshot', async () => {
    const recent = await page.$$eval('#recent tbody tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
    assert.ok(recent.length >= ids.length, `${recent.length} rows`);
    assert.ok(recent.some((r) => r.includes('cache')), 'the cache hit');
    assert.ok(recent.some((r) => r.includes('research')), 'the research team');
    const models = await page.$$eval('#recent tbody tr td:nth-child(4)', (tds) => tds.map((td) => td.textContent ?? ''));
    assert.ok(models.every((m) => m !== ''), `every row names its model (no GET /v1/models row): ${JSON.stringify(models)}`);
    const html = await page.content();
    assert.ok(!html.includes(PROMPT) && !html.includes('failover please'), 'no prompt text on the page');
    assert.ok(!html.includes(gw.adminApiKey), 'the admin key is not in the page');
    // Usable on a laptop screen: nothing wider than the 1440 px viewport.
    assert.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= 1440, 'no horizontal scrolling');
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    assert.ok(statSync(SCREENSHOT).size > 20_000);
  });
});
