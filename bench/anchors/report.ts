import type { AnchorPathResult, AnchorResult, PooledLatency } from './result.ts';

const dash = '—';

function num(x: number | null | undefined, d: number): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return dash;
  return x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

function signed(x: number | null | undefined, d: number): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return dash;
  return `${x < 0 ? '−' : '+'}${num(Math.abs(x), d)}`;
}

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map((h, i) => (i === 0 || ['path', 'goal', 'measured', 'status'].includes(h) ? '---' : '---:'))), ...rows.map(line)].join('\n');
}

/** Column headers of the three latency tables (the test checks them). */
export const LATENCY_COLUMNS = ['path', 'n', 'p50', 'p90', 'p99', 'max', '+p50', '+p90', '+p99', '+max'];
/** Column headers of the throughput and cost table. */
export const COST_COLUMNS = ['path', 'c=10 req/s', 'saturation req/s', '× AIGW', 'Envoy µs/req', 'ext_proc µs/req', 'Envoy peak MB', 'ext_proc peak MB', 'non-2xx / errors'];

function latencyRows(paths: readonly AnchorPathResult[], pick: (p: AnchorPathResult) => PooledLatency): string[][] {
  return paths.map((p) => {
    const { dist: d, added: a } = pick(p);
    return [p.id, d ? String(d.n) : '0', num(d?.p50, 2), num(d?.p90, 2), num(d?.p99, 2), num(d?.max, 2), signed(a?.p50, 2), signed(a?.p90, 2), signed(a?.p99, 2), signed(a?.max, 2)];
  });
}

/** The side-by-side tables (ms unless said), the goals block and how the run was taken, as Markdown. */
export function renderAnchors(r: AnchorResult): string {
  const s = r.settings;
  const out: string[] = [];
  const kind = r.mode === 'quick' ? 'quick smoke run: numbers not meaningful' : 'anchor comparison';
  out.push(`# llm-extproc vs Envoy AI Gateway (${r.custom ? `${kind}; ${r.custom}, shorter than the default: not the README's numbers` : kind})`);
  out.push('');
  out.push(
    `${r.startedAt} · commit ${r.env.commit.slice(0, 10)}${r.env.dirty ? ' (dirty)' : ''} · Envoy ${r.env.envoy} · ${r.env.cores} × ${r.env.cpuModel} · Node ${r.env.node} · load average at the end of the run ${r.env.loadavg.join(' ')}`,
  );
  out.push('');
  out.push('version' in r.aigw ? `Envoy AI Gateway: ext_proc ${r.aigw.version} (${r.aigw.binary}), over a Unix socket, router-level + upstream ext_proc as its controller wires it (bench/anchors/aigw-envoy.yaml).` : `**${r.aigw.missing}**`);
  out.push('');
  out.push(
    `${s.rounds} interleaved round${s.rounds === 1 ? '' : 's'} (path order rotated and reversed each round), ${s.sliceS} s per slice. Same OpenAI chat request on every path (instant answer), ` +
      `same OpenAI simulator over TLS 1.3 + HTTP/2, same Envoy binary; ours authenticates every request (demo key), AIGW has no client auth; ` +
      `our ext_procs on ${r.extprocTransport === 'uds' ? 'a Unix socket' : 'loopback TCP'}${'version' in r.aigw ? " (AIGW's on a Unix socket)" : ''}. ` +
      `Percentiles pool every sample of every round; "+" columns subtract bare Envoy's same percentile; throughput and CPU are medians over rounds.`,
  );
  const paths = r.paths;
  out.push('', '## Latency at c=1 (closed loop, one connection), ms', '', table(LATENCY_COLUMNS, latencyRows(paths, (p) => p.c1)));
  out.push('', `## Latency at c=${s.c10} (closed loop, ${s.c10} connections), ms`, '', table(LATENCY_COLUMNS, latencyRows(paths, (p) => p.c10)));
  out.push('', `## Stream time to first byte at c=1, ms (${s.stream.chunks} chunks ${s.stream.chunkDelayMs} ms apart; first body byte)`, '', table(LATENCY_COLUMNS, latencyRows(paths, (p) => p.ttfb)));
  out.push(
    '',
    `## Throughput, CPU and memory (saturation: ${s.satConnections} connections; CPU per 2xx request over the saturation slices; peak RSS over the run)`,
    '',
    table(
      COST_COLUMNS,
      paths.map((p) => [
        p.id,
        num(p.c10Rps, 0),
        num(p.satRps, 0),
        p.satVsAigw === null ? dash : num(p.satVsAigw, 2),
        num(p.envoyCpuUs, 0),
        num(p.extprocCpuUs, 0),
        num(p.envoyPeakMB, 1),
        num(p.extprocPeakMB, 1),
        `${p.counts.non2xx} / ${p.counts.errors}`,
      ]),
    ),
  );
  out.push('', '## Goals (issue 11)', '');
  if (r.goals.length === 0) out.push('No gateway path measured.');
  else out.push(table(['goal', 'path', 'measured', 'status'], r.goals.map((g) => [g.goal, g.path, g.measured, g.status === 'met' ? 'met' : g.status === 'missed' ? '**missed**' : 'not measured'])));
  const met = r.goals.filter((g) => g.status === 'met').length;
  const missed = r.goals.filter((g) => g.status === 'missed').length;
  out.push('', `${met} met, ${missed} missed, ${r.goals.length - met - missed} not measured. The goals are for gateway-policies-embedded (the full gateway, policies on); the other gateway paths are reported the same way.`);
  if (r.problems.length > 0) out.push('', '## Problems', '', ...r.problems.map((p) => `- ${p}`));
  return out.join('\n');
}
