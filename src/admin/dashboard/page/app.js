// The admin dashboard (src/admin/dashboard/): plain browser JS, no build step. Reads
// GET /admin/dashboard/data (every figure, from the gateway's metrics registry and state
// backend) every 10 s and POST /admin/costs/estimate from the form. The admin key is kept in
// sessionStorage (this tab only) and sent as `Authorization: Bearer`, never in a URL.
/* global Chart */
'use strict';

const KEY_STORE = 'llmx-admin-key';
const REFRESH_MS = 10_000;
const COLORS = ['#2563eb', '#16a34a', '#dc2626', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777', '#4b5563', '#65a30d'];
const $ = (id) => document.getElementById(id);
const charts = {};
let timer;

class Unauthorized extends Error {}

async function api(path, init = {}) {
  const key = sessionStorage.getItem(KEY_STORE);
  if (!key) throw new Unauthorized('no admin key');
  const res = await fetch(path, { ...init, cache: 'no-store', headers: { ...(init.headers || {}), authorization: `Bearer ${key}` } });
  const body = await res.json().catch(() => ({}));
  if (res.status === 401) throw new Unauthorized((body.error && body.error.message) || 'admin key refused');
  if (!res.ok) throw new Error((body.error && body.error.message) || `HTTP ${res.status}`);
  return body;
}

// Numbers as shown: the tile's data-value keeps the exact figure (the one /metrics shows).
const usd = (n) => (n === null || n === undefined ? '–' : `$${Number(n.toFixed(8)).toString()}`);
const int = (n) => Math.round(n).toLocaleString('en-US');
function tile(id, value, text) {
  const el = $(id);
  el.dataset.value = String(value);
  el.textContent = text;
}

function cell(tr, text, cls) {
  const td = document.createElement('td');
  td.textContent = text === undefined || text === null ? '' : String(text);
  if (cls) td.className = cls;
  tr.appendChild(td);
}
function fillTable(id, rows, toCells) {
  const body = $(id).querySelector('tbody');
  body.replaceChildren();
  for (const row of rows) {
    const tr = document.createElement('tr');
    for (const [text, cls] of toCells(row)) cell(tr, text, cls);
    body.appendChild(tr);
  }
}

/** Draws (or redraws in place) the chart on canvas `id`. */
function draw(id, config) {
  const existing = charts[id];
  if (existing && existing.config.type === config.type) {
    existing.data = config.data;
    existing.update('none');
    return;
  }
  if (existing) existing.destroy();
  config.options = { responsive: true, maintainAspectRatio: false, animation: false, ...config.options };
  charts[id] = new Chart($(id), config);
}

/**
 * A panel drawn from the state backend (spend, budgets): null while the backend is down, then
 * the chart is hidden and the panel's note says why; true when there is data to draw.
 */
function statePanel(id, data) {
  const card = $(id).closest('.card');
  const available = data !== null && data !== undefined;
  card.querySelector('[data-state-note]').hidden = available;
  card.querySelector('.chart').hidden = !available;
  return available;
}

/** Last 24 hourly labels (UTC) of a GET /admin/spend answer, one dataset per `dim` value (stacked bars). */
function spendChart(id, spend, dim) {
  const hours = [];
  for (let t = Date.parse(spend.from); t < Date.parse(spend.to); t += spend.bucket_seconds * 1000) hours.push(new Date(t).toISOString());
  const names = [...new Set(spend.data.map((r) => r[dim]))].sort();
  const datasets = names.map((name, i) => ({
    label: name || '(none)',
    backgroundColor: COLORS[i % COLORS.length],
    data: hours.map((h) => spend.data.filter((r) => r.hour === h && r[dim] === name).reduce((s, r) => s + r.cost_usd, 0)),
  }));
  draw(id, {
    type: 'bar',
    data: { labels: hours.map((h) => `${h.slice(11, 13)}:00`), datasets },
    options: { scales: { x: { stacked: true, title: { display: true, text: 'hour (UTC)' } }, y: { stacked: true, beginAtZero: true } } },
  });
}

function render(d) {
  const t = d.totals;
  tile('total-cost', t.costUsd, usd(t.costUsd));
  tile('total-tokens-in', t.tokensIn, int(t.tokensIn));
  tile('total-tokens-out', t.tokensOut, int(t.tokensOut));
  tile('total-requests', t.requests, int(t.requests));
  tile('other-requests', t.otherRequests, t.otherRequests ? `+ ${int(t.otherRequests)} other` : '');
  const hitRate = t.cacheLookups === 0 ? 0 : t.cacheHits / t.cacheLookups;
  tile('cache-hit-rate', hitRate, t.cacheLookups === 0 ? '–' : `${(hitRate * 100).toFixed(1)} %`);
  tile('cache-saved', t.cacheSavedUsd, `${usd(t.cacheSavedUsd)} (${int(t.cacheSavedTokens)} tok)`);

  if (statePanel('chart-spend-team', d.spendByTeam)) spendChart('chart-spend-team', d.spendByTeam, 'team');
  if (statePanel('chart-spend-provider', d.spendByProvider)) spendChart('chart-spend-provider', d.spendByProvider, 'provider');
  draw('chart-tokens', {
    type: 'bar',
    data: {
      labels: d.tokensByModel.map((r) => r.model),
      datasets: [
        { label: 'input', backgroundColor: COLORS[0], data: d.tokensByModel.map((r) => r.input) },
        { label: 'output', backgroundColor: COLORS[1], data: d.tokensByModel.map((r) => r.output) },
      ],
    },
    options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
  });
  const p = d.providers;
  draw('chart-latency', {
    type: 'bar',
    data: {
      labels: p.map((r) => r.provider),
      datasets: [
        { label: 'p50', backgroundColor: COLORS[0], data: p.map((r) => r.p50Ms) },
        { label: 'p99', backgroundColor: COLORS[3], data: p.map((r) => r.p99Ms) },
      ],
    },
    options: { scales: { y: { beginAtZero: true } } },
  });
  draw('chart-errors', {
    type: 'bar',
    data: { labels: p.map((r) => r.provider), datasets: [{ label: 'failed attempts (error, timeout, reset) %', backgroundColor: COLORS[2], data: p.map((r) => r.errorRate * 100) }] },
    options: { scales: { y: { beginAtZero: true, suggestedMax: 5 } } },
  });
  if (statePanel('chart-budgets', d.budgets)) draw('chart-budgets', {
    type: 'bar',
    data: {
      labels: d.budgets.map((b) => `${b.team} (${b.period})`),
      datasets: [
        { label: 'spent', backgroundColor: COLORS[2], data: d.budgets.map((b) => b.spentUsd) },
        { label: 'remaining', backgroundColor: COLORS[1], data: d.budgets.map((b) => b.remainingUsd) },
      ],
    },
    options: { indexAxis: 'y', scales: { x: { stacked: true, beginAtZero: true }, y: { stacked: true } } },
  });
  draw('chart-cache', {
    type: 'doughnut',
    data: { labels: ['hit', 'miss', 'bypass'], datasets: [{ backgroundColor: [COLORS[1], COLORS[4], COLORS[8]], data: [d.cache.hit, d.cache.miss, d.cache.bypass] }] },
    options: { plugins: { legend: { position: 'right' } } },
  });

  fillTable('breakers', d.breakers, (b) => [[b.provider], [b.model], [b.state, `state-${b.state}`]]);
  if (d.prices) {
    const pr = d.prices;
    $('price-age').textContent = `(source ${pr.source}; loaded ${pr.ageSeconds} s ago${pr.lastError ? `; last refresh failed: ${pr.lastError}` : ''})`;
    fillTable('prices', pr.data, (m) => {
      const x = m.pricing || {};
      const windows = (x.windows || []).map((w) => `${w.from}–${w.to}${w.in_force ? ' (now)' : ''}${w.multiplier ? ` ×${w.multiplier}` : ''}`).join(', ');
      return [[m.id], [x.input], [x.cached_input], [x.output], [m.context_length === null ? '–' : int(m.context_length)], [windows || '–']];
    });
  }
  fillTable('recent', d.recent, (l) => [
    [l.time.slice(11, 19)], [l.team], [l.key_name], [l.model], [l.provider], [l.status], [l.outcome],
    [l.tokens_in === undefined ? '' : `${l.tokens_in} / ${l.tokens_out}`], [l.cost_usd === undefined ? '' : usd(l.cost_usd)],
    [l.latency_ms === undefined ? '' : Math.round(l.latency_ms)], [l.cache], [l.attempts],
  ]);
  $('status').textContent = `updated ${new Date(d.generatedAt).toLocaleTimeString()}${d.stateUnavailable ? ' (state backend unavailable: spend and budgets not shown)' : ''}`;
  document.body.dataset.loaded = d.generatedAt;
}

function showLogin(message) {
  clearTimeout(timer);
  sessionStorage.removeItem(KEY_STORE);
  $('dashboard').hidden = true;
  $('logout').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message || '';
  $('admin-key').value = '';
}

async function refresh() {
  clearTimeout(timer);
  try {
    const data = await api('/admin/dashboard/data');
    $('login').hidden = true;
    $('dashboard').hidden = false;
    $('logout').hidden = false;
    render(data);
  } catch (err) {
    if (err instanceof Unauthorized) return showLogin(sessionStorage.getItem(KEY_STORE) ? 'The admin key was refused.' : '');
    $('status').textContent = `update failed: ${err.message}`;
  }
  timer = setTimeout(refresh, REFRESH_MS);
}

async function estimate(form) {
  const f = new FormData(form);
  const num = (name) => Number(f.get(name));
  const body = {
    requestsPerDay: num('requestsPerDay'),
    inputTokens: num('inputTokens'),
    outputTokens: num('outputTokens'),
    cachedInputShare: num('cachedInputShare'),
    stream: f.get('stream') === 'on',
    hours: [num('hourFrom'), num('hourTo')],
  };
  if (f.get('latencySlaMs')) body.latencySlaMs = num('latencySlaMs');
  if (body.hours[0] === 0 && body.hours[1] === 24) delete body.hours;
  $('estimate-error').textContent = '';
  try {
    const res = await api('/admin/costs/estimate', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    fillTable('estimate', res.data, (r) => [
      [r.rank === null ? '–' : r.rank], [r.model], [r.target], [r.monthlyUsd.toFixed(2)], [Number(r.usdPerRequest.toPrecision(4))],
      [r.p95Ms === null ? `– (${r.p95Source})` : `${Math.round(r.p95Ms)} (${r.p95Source})`], [r.sla, r.sla === 'unmet' ? 'state-open' : r.sla === 'met' ? 'state-closed' : ''],
    ]);
  } catch (err) {
    if (err instanceof Unauthorized) return showLogin('The admin key was refused.');
    $('estimate-error').textContent = err.message;
  }
}

$('login-form').addEventListener('submit', (e) => {
  e.preventDefault();
  sessionStorage.setItem(KEY_STORE, $('admin-key').value.trim());
  $('admin-key').value = '';
  void refresh();
});
$('logout').addEventListener('click', () => showLogin(''));
$('estimate-form').addEventListener('submit', (e) => {
  e.preventDefault();
  void estimate(e.target);
});
if (sessionStorage.getItem(KEY_STORE)) void refresh();
else showLogin('');
