import { BENCH_POLICIES } from './policy-config.ts';
import { SOAK_DEFAULT_MINUTES, type SoakClassId, type SoakResult, type SoakWindow } from './soak.ts';
import { medianOf, P99_FACTOR, P99_SLACK_MS, RSS_TOLERANCE_MB, type FlatVerdict, type P99Series, type P99Verdict } from './soak-verdict.ts';

/** The soak's Markdown (`soak-<time>.md`): setup, verdicts with their numbers, per class, per window. */

const n0 = (x: number): string => x.toLocaleString('en-US', { maximumFractionDigits: 0 });
/** `∞`: over the percentile's share of requests failed (bench/soak-verdict.ts `percentileOfSent`). */
const f = (x: number | undefined, digits = 2): string => (x === Number.POSITIVE_INFINITY ? '∞' : x !== undefined && Number.isFinite(x) ? x.toFixed(digits) : '—');
const verdict = (pass: boolean): string => (pass ? '**pass**' : '**FAIL**');

const SERIES_LABEL: Record<P99Series, string> = {
  json: 'JSON',
  translated: 'translated JSON',
  streamTtfb: 'stream, first byte',
  streamTotal: 'stream, whole',
};

function flatRow(what: string, v: FlatVerdict, from: number): string {
  return (
    `| ${what} RSS flat | last minute's median within ${RSS_TOLERANCE_MB} MB of the first settled minute's (from ${from} s); fitted slope × minutes ≤ ${RSS_TOLERANCE_MB} MB ` +
    `| ${f(v.settledMB, 1)} → ${f(v.finalMB, 1)} MB (${v.growthMB >= 0 ? '+' : ''}${f(v.growthMB, 1)}); slope ${f(v.slopeMBPerMin)} MB/min (${f(v.projectedMB, 1)} MB over the run) | ${verdict(v.pass)} |`
  );
}

function p99Row(s: P99Series, v: P99Verdict): string {
  return `| p99 stable: ${SERIES_LABEL[s]} | last minute's median window p99 ≤ ${P99_FACTOR} × the first settled minute's + ${P99_SLACK_MS} ms | ${f(v.firstMs)} → ${f(v.lastMs)} ms (limit ${f(v.limitMs)}) | ${verdict(v.pass)} |`;
}

/** Why a request failed, summed over the run: HTTP statuses other than 2xx, bad bodies, errors, timeouts. */
function failureCauses(windows: readonly SoakWindow[]): string {
  const causes = new Map<string, number>();
  const add = (k: string, v: number): void => {
    if (v > 0) causes.set(k, (causes.get(k) ?? 0) + v);
  };
  for (const w of windows)
    for (const c of Object.values(w.classes)) {
      for (const [status, count] of Object.entries(c.statuses)) if (!status.startsWith('2')) add(`HTTP ${status}`, count);
      add('2xx with a bad body', c.invalid);
      add('connection error', c.errors);
      add('timeout', c.timeouts);
    }
  return [...causes].map(([k, v]) => `${k} × ${n0(v)}`).join(', ');
}

/** What the run charged the budget, from the preflight's `x-gateway-cost-usd` per class (a stream's cost is known only at its end, not in its headers). */
function spend(r: SoakResult): string {
  const priced = r.classes.filter((c) => Number.isFinite(r.costUsd[c.id]));
  if (priced.length === 0) return '';
  const usd = priced.reduce((s, c) => s + c.rate * r.costUsd[c.id] * r.minutes * 60, 0);
  return `Charged per request: ${priced.map((c) => `${c.id} ${r.costUsd[c.id]} USD`).join(', ')}; ~${f(usd, 0)} USD over the run for ${priced.map((c) => c.id).join(' and ')}.`;
}

export function renderSoak(r: SoakResult): string {
  const v = r.verdicts;
  const lim = BENCH_POLICIES.rateLimits.keys.demo;
  const totalRate = r.classes.reduce((s, c) => s + c.rate, 0);
  const byClass = (id: SoakClassId) => r.windows.map((w) => w.classes[id]);
  const lines = [
    `# llm-extproc soak: ${r.minutes} min${r.minutes < SOAK_DEFAULT_MINUTES ? ` (shorter than the default ${SOAK_DEFAULT_MINUTES})` : ''} at ${n0(totalRate)} req/s, policies on (${r.store} state), ${r.startedAt}`,
    '',
    `Commit ${r.env.commit.slice(0, 12)}${r.env.dirty ? ' (dirty)' : ''}, ${r.env.cpuModel} × ${r.env.cores}, Node ${r.env.node}, Envoy ${r.env.envoy}; ` +
      `Envoy → ext_proc over ${r.transport === 'uds' ? 'a Unix domain socket' : 'loopback TCP'}; the ext_proc compiled, as the image runs it; load average read at the end of the run (so it includes the run's own load) ${r.env.loadavg.map((x) => x.toFixed(2)).join(' / ')}.`,
    '',
    `Load, open loop (every request due on time, its latency counted from then), all classes at once, ${r.windowS}-s windows back to back: ` +
      r.classes.map((c) => `${c.rate}/s ${c.label}`).join('; ') +
      '.',
    `Policies (bench/policy-config.ts) on the demo key and its team: ${n0(lim.requestsPerMinute)} requests and ${n0(lim.tokensPerMinute)} tokens a minute each, ` +
      `a ${n0(BENCH_POLICIES.budgets.teams.demo.budget.limitUsd)} USD monthly budget: every request reserves and settles, none is refused at ${n0(totalRate * 60)} requests a minute ` +
      `(a refusal would count as a failure). ${spend(r)}`,
    '',
    '## Verdicts',
    '',
    '| verdict | rule | measured | |',
    '| --- | --- | --- | --- |',
    `| no failures | every request a 2xx with a valid body (a whole completion; a stream ending in [DONE], no error event) | ${n0(v.failures.sent)} sent, ${n0(v.failures.failed)} failed${v.failures.failed > 0 ? ` (${failureCauses(r.windows)})` : ''} | ${verdict(v.failures.pass)} |`,
    flatRow('ext_proc', v.rssFlat.extproc, v.settledFromS),
    flatRow('Envoy', v.rssFlat.envoy, v.settledFromS),
    ...(['json', 'translated', 'streamTtfb', 'streamTotal'] as const).map((s) => p99Row(s, v.p99Stable.series[s])),
    `| ext_proc peak RSS (reported, not a rule) | ≤ ${v.peakRss.goalMB} MB (issue 11's goal) | ${f(v.peakRss.extprocMB, 1)} MB (sampled RSS and VmHWM) | ${v.peakRss.withinGoal ? 'within' : 'over'} |`,
    '',
    `**${v.pass ? 'PASS' : 'FAIL'}**: ${v.pass ? 'no failure, RSS flat, p99 stable' : 'a rule of the run failed (above); exit code 1'}.`,
    '',
    '## Per class, over the run',
    '',
    '| class | rate | sent | failed | p50, median of windows (ms) | p99, median of windows (ms) | p99, worst window (ms) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...r.classes.flatMap((c) => {
      const ws = byClass(c.id);
      const row = (label: string, p50: number[], p99: number[]): string =>
        `| ${label} | ${c.rate}/s | ${n0(ws.reduce((s, w) => s + w.sent, 0))} | ${n0(ws.reduce((s, w) => s + w.failed, 0))} | ${f(medianOf(p50))} | ${f(medianOf(p99))} | ${f(Math.max(...p99.filter((x) => !Number.isNaN(x))))} |`;
      return c.stream
        ? [row(`${c.label}: first byte`, ws.map((w) => w.ttfbP50Ms ?? Number.NaN), ws.map((w) => w.ttfbP99Ms ?? Number.NaN)), row(`${c.label}: whole`, ws.map((w) => w.p50Ms), ws.map((w) => w.p99Ms))]
        : [row(c.label, ws.map((w) => w.p50Ms), ws.map((w) => w.p99Ms))];
    }),
    '',
    '## Windows',
    '',
    'Latencies in ms, p50 / p99 from each request\'s due time, over every request sent (∞: more than 50 % / 1 % of them failed); RSS at the window\'s end; CPU in the window (% of one core; the load generator and the simulators share the box); "lag" is how late the load generator itself sent (p99 ms: when it is high, the generator, not the gateway, was short of CPU).',
    '',
    '| t (s) | sent | failed | JSON | translated | stream first byte | stream whole | ext_proc RSS (MB) | Envoy RSS (MB) | CPU ext_proc / Envoy / load gen. / sims | lag |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...r.windows.map((w) => {
      const c = w.classes;
      return (
        `| ${w.tS} | ${n0(w.sent)} | ${n0(w.failed)} | ${f(c.json.p50Ms)} / ${f(c.json.p99Ms)} | ${f(c.translated.p50Ms)} / ${f(c.translated.p99Ms)} | ` +
        `${f(c.stream.ttfbP50Ms)} / ${f(c.stream.ttfbP99Ms)} | ${f(c.stream.p50Ms, 1)} / ${f(c.stream.p99Ms, 1)} | ${f(w.extprocRssMB, 1)} | ${f(w.envoyRssMB, 1)} | ${f(w.extprocCpuPct, 0)} / ${f(w.envoyCpuPct, 0)} / ${f(w.loadgenCpuPct, 0)} / ${f(w.simsCpuPct, 0)} % | ${f(w.lagP99Ms)} |`
      );
    }),
  ];
  return lines.join('\n');
}
