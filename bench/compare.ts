import { readFileSync } from 'node:fs';
import { num } from './report.ts';
import type { BenchResult, CellResult, PairResult } from './result.ts';
import type { Est } from './stats.ts';

/**
 * Compares two result files metric by metric. A change counts as a regression only beyond
 * max(absolute floor, relative share of the baseline, 3 × the combined round-to-round noise
 * of both runs); the floors are the smallest changes the benchmark resolves on a quiet machine.
 */
interface Metric {
  name: string;
  a: number;
  b: number;
  noiseA: number;
  noiseB: number;
  better: 'lower' | 'higher';
  floor: number;
  rel: number;
  unit: string;
}

export interface Verdict extends Metric {
  delta: number;
  threshold: number;
  verdict: 'ok' | 'REGRESSION' | 'improved' | 'n/a';
}

const val = (e: Est | null | undefined): number => (e && typeof e.value === 'number' ? e.value : Number.NaN);
const noise = (e: Est | null | undefined): number => (e && typeof e.noise === 'number' && Number.isFinite(e.noise) ? e.noise : 0);

function judge(m: Metric): Verdict {
  const delta = m.b - m.a;
  const threshold = Math.max(m.floor, m.rel * Math.abs(m.a), 3 * Math.hypot(m.noiseA, m.noiseB));
  if (!Number.isFinite(m.a) || !Number.isFinite(m.b)) return { ...m, delta, threshold, verdict: 'n/a' };
  const worse = m.better === 'lower' ? delta : -delta;
  return { ...m, delta, threshold, verdict: worse > threshold ? 'REGRESSION' : worse < -threshold ? 'improved' : 'ok' };
}

function metrics(a: BenchResult, b: BenchResult): Metric[] {
  const out: Metric[] = [];
  const pairA = (p: PairResult): PairResult | undefined => a.pairs.find((x) => x.path === p.path && x.profile === p.profile);
  const cellA = (c: CellResult): CellResult | undefined => a.cells.find((x) => x.path === c.path && x.profile === c.profile);
  const est = (name: string, ea: Est | null | undefined, eb: Est | null | undefined, better: Metric['better'], floor: number, rel: number, unit: string): void => {
    if (!ea && !eb) return;
    out.push({ name, a: val(ea), b: val(eb), noiseA: noise(ea), noiseB: noise(eb), better, floor, rel, unit });
  };
  for (const pb of b.pairs) {
    const pa = pairA(pb);
    const id = `${pb.path}/${pb.profile}`;
    est(`${id} throughput × bare`, pa?.satRatio, pb.satRatio, 'higher', 0.05, 0.1, '×');
    est(`${id} added c=1 p50`, pa?.c1?.p50, pb.c1?.p50, 'lower', 0.1, 0.25, 'ms');
    est(`${id} added c=1 p99`, pa?.c1?.p99, pb.c1?.p99, 'lower', 0.3, 0.25, 'ms');
    for (const rb of pb.rates) {
      const ra = pa?.rates.find((x) => x.rate === rb.rate);
      est(`${id} added p99 @${rb.rate}/s`, ra?.p99, rb.p99, 'lower', 1, 0.25, 'ms');
    }
    if (pb.stream || pa?.stream) {
      est(`${id} added TTFT`, pa?.stream?.ttft, pb.stream?.ttft, 'lower', 0.2, 0.25, 'ms');
      est(`${id} added gap p99`, pa?.stream?.gapP99, pb.stream?.gapP99, 'lower', 0.2, 0.25, 'ms');
    }
  }
  for (const cb of b.cells.filter((c) => c.path.startsWith('gateway-'))) {
    const ca = cellA(cb);
    const id = `${cb.path}/${cb.profile}`;
    est(`${id} saturation rps`, ca?.saturation?.rps, cb.saturation?.rps, 'higher', 0, 0.1, 'rps');
    const ua = ca?.saturation?.cpu.usPerReq['extproc'] ?? Number.NaN;
    const ub = cb.saturation?.cpu.usPerReq['extproc'] ?? Number.NaN;
    out.push({ name: `${id} ext_proc CPU per request`, a: ua, b: ub, noiseA: 0, noiseB: 0, better: 'lower', floor: 5, rel: 0.15, unit: 'µs' });
    const fa = ca ? failures(ca) : Number.NaN;
    out.push({ name: `${id} failed requests`, a: fa, b: failures(cb), noiseA: 0, noiseB: 0, better: 'lower', floor: 0, rel: 0, unit: '' });
  }
  for (const rb of b.routing?.rows ?? []) {
    const rowA = a.routing?.rows.find((x) => x.case === rb.case);
    est(`per-request planning: ${rb.case}`, rowA ? { value: rowA.us, noise: rowA.noiseUs, rounds: [] } : null, { value: rb.us, noise: rb.noiseUs, rounds: [] }, 'lower', 1, 0.25, 'µs');
  }
  const ra = a.processes['extproc']?.peakRssMB ?? Number.NaN;
  const rb = b.processes['extproc']?.peakRssMB ?? Number.NaN;
  out.push({ name: 'ext_proc peak RSS', a: ra, b: rb, noiseA: 0, noiseB: 0, better: 'lower', floor: 10, rel: 0.15, unit: 'MB' });
  return out;
}

function failures(c: CellResult): number {
  return (c.saturation?.non2xx ?? 0) + (c.saturation?.errors ?? 0) + (c.c1?.non2xx ?? 0) + (c.c1?.errors ?? 0) + c.rates.reduce((s, r) => s + r.errors + r.non2xx, 0);
}

export function compareResults(a: BenchResult, b: BenchResult, names: [string, string] = ['A', 'B']): { markdown: string; verdicts: Verdict[]; regressions: number } {
  const verdicts = metrics(a, b).map(judge);
  const regressions = verdicts.filter((v) => v.verdict === 'REGRESSION').length;
  const lines: string[] = [];
  lines.push(`# Benchmark comparison`);
  lines.push('');
  lines.push(`- baseline: ${names[0]} (${a.mode}, ${a.startedAt}, commit ${a.env.commit.slice(0, 12)}, ${a.env.cpuModel} × ${a.env.cores})`);
  lines.push(`- current:  ${names[1]} (${b.mode}, ${b.startedAt}, commit ${b.env.commit.slice(0, 12)}, ${b.env.cpuModel} × ${b.env.cores})`);
  if (a.env.cpuModel !== b.env.cpuModel || a.env.cores !== b.env.cores) lines.push('- **warning: different machines; absolute numbers are not comparable, ratios roughly are**');
  if (a.mode !== b.mode) lines.push('- **warning: different modes (quick vs full): not comparable**');
  lines.push('');
  lines.push(`Threshold = max(floor, share of baseline, 3 × combined round-to-round noise). ${regressions} regression(s).`);
  lines.push('');
  lines.push('| metric | baseline | current | Δ | threshold | verdict |');
  lines.push('| --- | ---: | ---: | ---: | ---: | --- |');
  for (const v of verdicts) {
    const d = v.unit === 'rps' || v.unit === 'µs' || v.unit === '' ? 0 : v.unit === 'MB' ? 1 : 3;
    lines.push(
      `| ${v.name} | ${num(v.a, d)} ${v.unit} | ${num(v.b, d)} ${v.unit} | ${Number.isFinite(v.delta) ? (v.delta >= 0 ? '+' : '−') + num(Math.abs(v.delta), d) : '—'} | ${num(v.threshold, d)} | ${v.verdict === 'REGRESSION' ? '**REGRESSION**' : v.verdict} |`,
    );
  }
  return { markdown: lines.join('\n'), verdicts, regressions };
}

export function compareFiles(fileA: string, fileB: string): { markdown: string; verdicts: Verdict[]; regressions: number } {
  const a = JSON.parse(readFileSync(fileA, 'utf8')) as BenchResult;
  const b = JSON.parse(readFileSync(fileB, 'utf8')) as BenchResult;
  return compareResults(a, b, [fileA, fileB]);
}
