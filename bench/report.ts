import type { BenchResult, CellResult, PairResult } from './result.ts';
import type { Est } from './stats.ts';

const dash = '—';

export function num(x: number | null | undefined, d = 3): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return dash;
  return x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

/** Signed, for added values. */
function add(x: number | null | undefined, d = 3): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return dash;
  return `${x >= 0 ? '+' : '−'}${num(Math.abs(x), d)}`;
}

function estStr(e: Est | null | undefined, d = 3, signed = true): string {
  if (!e || !Number.isFinite(e.value)) return dash;
  const v = signed ? add(e.value, d) : num(e.value, d);
  return Number.isFinite(e.noise) && e.noise > 0 ? `${v} ±${num(e.noise, d)}` : v;
}

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map((h) => (/^(path|profile|what|process|target)$/.test(h) ? '---' : '---:'))), ...rows.map(line)].join('\n');
}

/** Column headers of the main table (the quick test checks them). */
export const MAIN_COLUMNS = [
  'profile',
  'path',
  'sat rps',
  '× bare',
  'c=1 p50',
  'c=1 p90',
  'c=1 p99',
  'c=1 max',
  '+p50',
  '+p99',
  'ext_proc µs/req',
  'Envoy µs/req',
  'gw overhead p50/p99',
] as const;

function pairFor(r: BenchResult, c: CellResult): PairResult | undefined {
  return r.pairs.find((p) => p.path === c.path && p.profile === c.profile);
}

function overheadStr(c: CellResult): string {
  const m = c.overheadMetric;
  const h = c.c1?.overheadHeader;
  if (!m && !h) return dash;
  const hdr = h ? `hdr ${num(h.p50)}/${num(h.p99)}` : '';
  const met = m ? `metric ${num(m.p50Ms)}/${num(m.p99Ms)}` : '';
  return [hdr, met].filter(Boolean).join('; ');
}

export function renderMarkdown(r: BenchResult): string {
  const e = r.env;
  const s = r.settings;
  const out: string[] = [];
  out.push(`# llm-extproc benchmark: ${r.mode} run, ${r.startedAt.replace(/\.\d+Z$/, 'Z')}`);
  out.push('');
  out.push(
    `Machine: ${e.cpuModel}, ${e.cores} cores, ${e.memGB} GB, ${e.kernel}. Node ${e.node}, Envoy ${e.envoy} (--concurrency ${s.envoyConcurrency}), ` +
      `autocannon ${e.autocannon}, undici ${e.undici}. ext_proc service compiled (dist/), node flags \`${(s.extprocFlags ?? []).join(' ') || 'none'}\`, Envoy → ext_proc over ${s.extprocUds ? 'a Unix domain socket' : 'loopback TCP'}. Commit ${e.commit.slice(0, 12)}${e.dirty ? ' (with uncommitted changes)' : ''}. Load average at start ${e.loadavg.join(' ')}.`,
  );
  out.push('');
  out.push(
    `Settings: ${s.rounds} round(s) of ${s.satS} s saturation and of concurrency 1 (${s.c1S.instant} s / ${s.c1S.latency60} s), ` +
      `${s.rateRounds} round(s) of ${s.rateS} s per open-loop rate, ${s.probeRounds} probe stream(s) per path; every round visits every path (interleaved). ` +
      `Wall time ${num(r.wallS / 60, 1)} min.${r.mode === 'quick' ? ' **Quick smoke run: the numbers are not measurements.**' : ''}`,
  );
  out.push('');
  if (r.gatewayEnvoyTemplate) {
    out.push(`**Gateway Envoy config: \`${r.gatewayEnvoyTemplate}\`** (not envoy/envoy.yaml).`);
    out.push('');
  }
  out.push('Profiles: ' + r.profiles.map((p) => `\`${p.id}\` = ${p.label}`).join('; ') + '.');
  out.push('');
  out.push('Paths: ' + r.paths.map((p) => `\`${p.id}\` = ${p.label}`).join('; ') + '.');
  out.push('');

  if (r.targets.length) {
    out.push('## Targets');
    out.push('');
    out.push('Ratios and added times are against bare Envoy to the same provider, in the same run.');
    out.push('');
    out.push(
      table(
        ['path', 'what', 'target', 'value', 'met'],
        r.targets.map((t) => [t.path, t.what, `${t.target} ${t.unit}`.trim(), t.value === null ? dash : `${num(t.value, t.unit === 'rps' || t.unit === '' ? 0 : 3)} ${t.unit}`.trim(), t.met === null ? 'n/a' : t.met ? 'yes' : '**no**']),
      ),
    );
    out.push('');
  }

  out.push('## Throughput and latency per path and profile');
  out.push('');
  out.push(
    'Latencies in ms, client-side, to the last byte (for streams: the whole stream). `sat rps`: 2xx/s, closed loop at the connection count shown in the JSON ' +
      '(median of rounds). `+p50`/`+p99`: this path minus bare Envoy to the same provider (pooled percentiles; ± is half the spread of the per-round differences). ' +
      'CPU per request at saturation. `gw overhead`: the ext_proc\'s own handler time, from `x-gateway-overhead-ms` at c=1 (before response headers) and from the ' +
      '`gateway_extproc_overhead_seconds` metric over all slices (all phases).',
  );
  out.push('');
  const rows: string[][] = [];
  for (const c of r.cells) {
    const p = pairFor(r, c);
    const l = c.c1?.latency;
    const cpu = c.saturation?.cpu.usPerReq ?? {};
    rows.push([
      c.profile,
      c.path,
      c.saturation ? num(c.saturation.rps.value, 0) : dash,
      p?.satRatio ? estStr(p.satRatio, 2, false) : dash,
      num(l?.p50),
      num(l?.p90),
      num(l?.p99),
      num(l?.max),
      estStr(p?.c1?.p50),
      estStr(p?.c1?.p99),
      cpu['extproc'] !== undefined ? num(cpu['extproc'], 0) : dash,
      cpu['envoy'] !== undefined ? num(cpu['envoy'], 0) : dash,
      overheadStr(c),
    ]);
  }
  out.push(table([...MAIN_COLUMNS], rows));
  out.push('');

  if (r.policyPairs?.length) {
    out.push('## What the policies add');
    out.push('');
    out.push(
      'The gateway with rate limits (key and team, requests and tokens per minute) and a monthly team budget on for the demo key ' +
        '(bench/policy-config.ts, never refusing), against `gateway-openai` (the same request, the gateway without policies), in the same run, interleaved. ' +
        'CPU per 2xx response at saturation, µs; `added` = with − without. `× off`: throughput with / without, median of rounds. ' +
        '`c=1 +p50`/`+p99`: latency at concurrency 1 with − without (pooled percentiles, ± half the spread of the per-round differences). ' +
        '`Redis calls/req`: script calls (EVALSHA) the gateway sent, from INFO commandstats over the path\'s slices ÷ the requests the gateway finished in them; ' +
        '`in scripts/req`: the commands those scripts ran inside Redis (server work, no round trip).',
    );
    out.push('');
    const prow: string[][] = [];
    for (const pp of r.policyPairs) {
      const on = r.cells.find((c) => c.path === pp.path && c.profile === pp.profile);
      const off = r.cells.find((c) => c.path === pp.baseline && c.profile === pp.profile);
      const cpuOn = on?.saturation?.cpu.usPerReq ?? {};
      const cpuOff = off?.saturation?.cpu.usPerReq ?? {};
      const rc = on?.redisCommands;
      prow.push([
        pp.profile,
        pp.path,
        num(cpuOn['extproc'], 0),
        num(cpuOff['extproc'], 0),
        add((cpuOn['extproc'] ?? Number.NaN) - (cpuOff['extproc'] ?? Number.NaN), 0),
        add((cpuOn['envoy'] ?? Number.NaN) - (cpuOff['envoy'] ?? Number.NaN), 0),
        cpuOn['redis'] !== undefined ? num(cpuOn['redis'], 0) : dash,
        pp.satRatio ? estStr(pp.satRatio, 2, false) : dash,
        estStr(pp.c1?.p50),
        estStr(pp.c1?.p99),
        rc ? num(rc.calls, 2) : dash,
        rc ? num(rc.inScripts, 1) : dash,
      ]);
    }
    out.push(table(['profile', 'path', 'ext_proc µs/req', 'without', 'added', 'Envoy added', 'redis µs/req', '× off', 'c=1 +p50', 'c=1 +p99', 'Redis calls/req', 'in scripts/req'], prow));
    out.push('');
  }

  if (r.routing?.rows.length) {
    const rt = r.routing;
    out.push('## What per-request planning adds');
    out.push('');
    out.push(
      `The routing call the gateway makes per request, \`routeRequest\` (capability mask, the strategy's order, the cached plan with its timeout headers), ` +
        `in-process before the run's processes start (bench/routing-order.ts): a model of 3 targets, a LocalHealth fed a minute of traffic, the clock ` +
        `advancing 0.5 ms per request. µs per request, median of ${rt.batches} × ${rt.perBatch.toLocaleString('en-US')} calls (± half the spread of the batches); ` +
        `\`with explain()\`: a request that asks for \`x-gateway-explain\`. \`order\`: the plan for a JSON request at the start → at the end. Target ≤ ${rt.targetUs} µs (0.02 ms).`,
    );
    out.push('');
    out.push(
      table(
        ['what', 'strategy', 'µs/req', 'with explain()', 'order', 'met'],
        rt.rows.map((x) => {
          const order = x.orderAtStart.join(' > ') + (x.orderAtEnd.join() === x.orderAtStart.join() ? '' : ` → ${x.orderAtEnd.join(' > ')}`);
          return [x.case, x.strategy, estStr({ value: x.us, noise: x.noiseUs, rounds: [] }, 2, false), num(x.usWithExplain, 2), order || dash, x.us <= rt.targetUs ? 'yes' : '**no**'];
        }),
      ),
    );
    out.push('');
  }

  out.push('## Open loop at fixed rates');
  out.push('');
  out.push(
    'Requests are sent on schedule whatever the earlier ones did; latency counts from the scheduled time, so stalls are not hidden. ' +
      '`send lag`: how late the generator itself was (its own health).',
  );
  out.push('');
  const orows: string[][] = [];
  for (const prof of r.profiles) {
    for (const rate of prof.rates) {
      for (const c of r.cells.filter((x) => x.profile === prof.id)) {
        const x = c.rates.find((y) => y.rate === rate);
        if (!x) continue;
        const pr = pairFor(r, c)?.rates.find((y) => y.rate === rate);
        orows.push([
          c.profile,
          String(rate),
          c.path,
          `${x.ok}/${x.sent}`,
          String(x.errors + x.non2xx),
          num(x.latency?.p50),
          num(x.latency?.p90),
          num(x.latency?.p99),
          num(x.latency?.max),
          estStr(pr?.p50),
          estStr(pr?.p99),
          num(x.sendLag?.p99),
        ]);
      }
    }
  }
  out.push(table(['profile', 'rate/s', 'path', 'ok/sent', 'failed', 'p50', 'p90', 'p99', 'max', '+p50', '+p99', 'send lag p99'], orows));
  out.push('');

  const streamCells = r.cells.filter((c) => c.stream);
  if (streamCells.length) {
    out.push('## Streams (probe, concurrency 1)');
    out.push('');
    out.push(
      'TTFT: request start to the first event carrying text. Gap: between consecutive text events. `+TTFT`: median of per-round differences to bare Envoy; ' +
        '`+gap`: gap percentile on this path minus the same percentile on bare Envoy.',
    );
    out.push('');
    out.push(
      table(
        ['path', 'streams ok', 'chunks', 'TTFT p50', 'TTFT p99', '+TTFT', 'gap p50', 'gap p99', 'gap max', '+gap p50', '+gap p99'],
        streamCells.map((c) => {
          const p = pairFor(r, c);
          const st = c.stream!;
          return [
            c.path,
            `${st.ok}/${st.n}`,
            String(st.contentEvents),
            num(st.ttft?.p50),
            num(st.ttft?.p99),
            estStr(p?.stream?.ttft),
            num(st.gap?.p50),
            num(st.gap?.p99),
            num(st.gap?.max),
            estStr(p?.stream?.gapP50),
            estStr(p?.stream?.gapP99),
          ];
        }),
      ),
    );
    out.push('');
  }

  out.push('## Processes (whole run)');
  out.push('');
  out.push(
    table(
      ['process', 'CPU s', 'peak RSS MB'],
      Object.entries(r.processes).map(([name, p]) => [name, num(p.cpuS, 1), num(p.peakRssMB, 1)]),
    ),
  );
  out.push('');
  if (r.problems.length) {
    out.push('## Problems');
    out.push('');
    for (const p of r.problems) out.push(`- ${p}`);
    out.push('');
  }
  return out.join('\n');
}
