import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { aigwMissingLine, aigwStampOf, aigwUnusableLine, parseAigwVersion } from '../../bench/anchors/aigw.ts';
import { COST_COLUMNS, LATENCY_COLUMNS, renderAnchors } from '../../bench/anchors/report.ts';
import { checkGoals, problemsOf, summarize, type AnchorResult, type GoalCheck } from '../../bench/anchors/result.ts';
import { anchorSettings, roundOrder, type AnchorPathId, type AnchorRawPath } from '../../bench/anchors/suite.ts';

/** The pure parts of `npm run bench -- --anchors`: pooling, "added" columns, ratios, goals, the Markdown. */

const range = (from: number, n: number, step = 1): number[] => Array.from({ length: n }, (_, i) => from + i * step);

function rawPath(id: AnchorPathId, o: Partial<AnchorRawPath> = {}): AnchorRawPath {
  return {
    id,
    label: id,
    c1: [range(1, 100)],
    c10: [range(1, 100)],
    c10Rps: [1000],
    satRps: [1000],
    ttfb: [range(1, 100)],
    envoyCpuUs: [100],
    extprocCpuUs: id === 'bare-openai' ? [Number.NaN] : [150],
    envoyPeakMB: 60,
    extprocPeakMB: id === 'bare-openai' ? Number.NaN : 70,
    counts: { ok: 400, non2xx: 0, errors: 0 },
    ...o,
  };
}

const goal = (goals: GoalCheck[], path: AnchorPathId, name: string): GoalCheck => {
  const g = goals.find((x) => x.path === path && x.goal === name);
  assert.ok(g, `goal ${name} on ${path}`);
  return g;
};

test('percentiles pool every sample of every round, not a median of per-round percentiles', () => {
  // Round 1 is calm (1..99 ms), round 2 holds the whole tail: pooled, p99 lands in round 2.
  const calm = range(1, 99);
  const tail = [...range(1, 98), 500, 1000];
  const [bare, gw] = summarize([
    rawPath('bare-openai', { c1: [range(0.1, 100, 0.001), range(0.1, 100, 0.001)] }),
    rawPath('gateway-openai', { c1: [calm, tail] }),
  ]);
  const d = gw!.c1.dist!;
  assert.equal(d.n, 199);
  // Nearest rank over 199 sorted values: p99 = rank 198, max = rank 199.
  assert.equal(d.p99, 500);
  assert.equal(d.max, 1000);
  assert.equal(d.p50, 50);
  // Added = the path's percentile minus bare Envoy's same percentile.
  const b = bare!.c1.dist!;
  assert.equal(gw!.c1.added!.p50, Math.round((d.p50 - b.p50) * 1000) / 1000);
  assert.equal(gw!.c1.added!.max, Math.round((d.max - b.max) * 1000) / 1000);
  assert.equal(bare!.c1.added, null, 'bare Envoy has no added column of its own');
});

test('throughput and CPU are medians over rounds; the ratio is to AIGW at saturation', () => {
  const paths = summarize([
    rawPath('bare-openai', { satRps: [9000, 1, 9500] }),
    rawPath('gateway-openai', { satRps: [3000, 3300, 100], envoyCpuUs: [100, 300, 200], extprocCpuUs: [50, 70, 60] }),
    rawPath('aigw-openai', { satRps: [2000, 2400, 2200] }),
  ]);
  const gw = paths.find((p) => p.id === 'gateway-openai')!;
  assert.equal(gw.satRps, 3000);
  assert.equal(gw.envoyCpuUs, 200);
  assert.equal(gw.extprocCpuUs, 60);
  assert.equal(gw.satVsAigw, Math.round((3000 / 2200) * 1000) / 1000);
  assert.equal(paths.find((p) => p.id === 'aigw-openai')!.satVsAigw, null);
  assert.ok(Number.isNaN(paths.find((p) => p.id === 'bare-openai')!.extprocCpuUs), 'no ext_proc on bare Envoy');
});

test('the goals: each met or missed from the numbers, against AIGW and the fixed limits', () => {
  const bare = rawPath('bare-openai', { c1: [range(0.1, 100, 0)], ttfb: [range(0.2, 100, 0)] });
  const aigw = rawPath('aigw-openai', { c1: [range(1, 100, 0.01)], c10: [range(2, 100, 0.05)], ttfb: [range(1, 100, 0.02)], satRps: [2000], extprocPeakMB: 55 });
  // Embedded: c=1 tail below AIGW's, c=10 tail above; p50 +0.4 ms; TTFB +0.7 ms; 2,600 / 2,000 = 1.3 ×; 90 MB.
  const emb = rawPath('gateway-policies-embedded', {
    c1: [range(0.5, 100, 0.001)],
    c10: [range(2, 100, 0.1)],
    ttfb: [range(0.9, 100, 0.001)],
    satRps: [2600],
    extprocPeakMB: 90,
  });
  const goals = checkGoals(summarize([bare, aigw, emb]));
  assert.equal(goal(goals, 'gateway-policies-embedded', 'c=1 p99 ≤ AIGW').status, 'met');
  assert.equal(goal(goals, 'gateway-policies-embedded', 'c=10 p99 ≤ AIGW').status, 'missed');
  const p50 = goal(goals, 'gateway-policies-embedded', 'c=1 p50 added ≤ 0.5 ms');
  assert.equal(p50.status, 'met');
  assert.match(p50.measured, /^\+0\.4\d ms over bare Envoy$/);
  assert.equal(goal(goals, 'gateway-policies-embedded', 'stream TTFB p50 added ≤ 0.5 ms').status, 'missed');
  assert.equal(goal(goals, 'gateway-policies-embedded', 'stream TTFB p99 ≤ AIGW').status, 'met');
  const tput = goal(goals, 'gateway-policies-embedded', 'throughput at saturation ≥ 1.25 × AIGW');
  assert.equal(tput.status, 'met');
  assert.match(tput.measured, /2,600 vs AIGW 2,000 req\/s \(× 1\.30\)/);
  const rss = goal(goals, 'gateway-policies-embedded', 'ext_proc peak RSS ≤ 80 MB');
  assert.equal(rss.status, 'missed');
  assert.match(rss.measured, /90\.0 MB \(AIGW 55\.0 MB\)/);
  assert.ok(!goals.some((g) => g.path === 'gateway-openai'), 'only the gateway paths present are checked');
});

test('without AIGW the goals held against it are "not measured", the fixed limits still checked', () => {
  const goals = checkGoals(summarize([rawPath('bare-openai'), rawPath('gateway-openai')]));
  assert.equal(goals.length, 7);
  for (const g of goals.filter((x) => x.goal.includes('AIGW'))) {
    assert.equal(g.status, 'not measured', g.goal);
    assert.match(g.measured, /; AIGW not measured$/, g.goal);
    assert.ok(!g.measured.includes('—'), g.goal);
  }
  assert.equal(goal(goals, 'gateway-openai', 'c=1 p50 added ≤ 0.5 ms').status, 'met');
  assert.equal(goal(goals, 'gateway-openai', 'ext_proc peak RSS ≤ 80 MB').status, 'met');
});

test('rounds alternate the path order: rotated each round, reversed every other round', () => {
  const xs = ['a', 'b', 'c', 'd', 'e'];
  assert.deepEqual(roundOrder(xs, 0), ['a', 'b', 'c', 'd', 'e']);
  assert.deepEqual(roundOrder(xs, 1), ['a', 'e', 'd', 'c', 'b']);
  assert.deepEqual(roundOrder(xs, 2), ['c', 'd', 'e', 'a', 'b']);
  for (let r = 0; r < 5; r++) assert.deepEqual([...roundOrder(xs, r)].sort(), xs, 'every path once per round');
  const firsts = new Set(range(0, 10).map((r) => roundOrder(xs, r)[0]));
  assert.ok(firsts.size >= 3, 'no path is always first');
});

test('settings: the default, --quick, and the --anchors-* overrides', () => {
  const full = anchorSettings(false);
  const quick = anchorSettings(true);
  assert.ok(full.rounds >= 3 && full.sliceS >= quick.sliceS && quick.rounds >= 2);
  assert.equal(full.c10, 10);
  assert.equal(full.satConnections, 64);
  assert.deepEqual({ ...anchorSettings(false, { rounds: 6, sliceS: 2 }) }, { ...full, rounds: 6, sliceS: 2 });
});

test('AIGW version from its -ldflags stamp, as its internal/version parses it; the missing-binary line says how to build it', () => {
  assert.equal(parseAigwVersion('v1.1.0-0-gc217da8'), 'v1.1.0');
  assert.equal(parseAigwVersion('v1.1.0-rc1-3-gabc1234'), 'abc1234 (v1.1.0-rc1, +3)');
  assert.equal(parseAigwVersion(undefined), 'dev');
  assert.equal(parseAigwVersion('v1.1.0'), 'dev');
  // Go keeps the -ldflags in the binary's build info: the stamp is read back from there.
  const dir = mkdtempSync(path.join(tmpdir(), 'aigw-stamp-'));
  try {
    const bin = path.join(dir, 'extproc');
    writeFileSync(bin, Buffer.concat([Buffer.alloc(4096, 0xcc), Buffer.from('\tbuild\t-ldflags="-X github.com/envoyproxy/ai-gateway/internal/version.version=v1.1.0-0-gc217da8"\n\0')]));
    assert.equal(aigwStampOf(bin), 'v1.1.0-0-gc217da8');
    assert.equal(aigwUnusableLine(bin), undefined);
    writeFileSync(bin, Buffer.alloc(4096, 0xcc));
    assert.equal(aigwStampOf(bin), undefined);
    // A binary without the stamp (e.g. AIGW_EXTPROC=/bin/true) is left out with one line, before anything starts.
    assert.match(aigwUnusableLine(bin)!, /^Envoy AI Gateway left out: .*extproc has no AIGW version stamp/);
    assert.match(aigwUnusableLine(dir)!, /is not a file/);
    assert.equal(aigwUnusableLine(path.join(dir, 'absent')), aigwMissingLine(path.join(dir, 'absent')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const line = aigwMissingLine('/nowhere/extproc');
  assert.match(line, /\/nowhere\/extproc/);
  assert.match(line, /bench\/anchors\/build-aigw\.sh/);
  assert.match(line, /envoyproxy\/ai-gateway/);
  assert.match(line, /Go/);
  assert.ok(!line.includes('\n'), 'one line');
});

test('the report: the latency tables, the cost table, the goals block and the problems', () => {
  const summary = summarize([
    rawPath('bare-openai'),
    rawPath('gateway-openai', { counts: { ok: 10, non2xx: 2, errors: 1 } }),
    rawPath('gateway-policies-embedded', { c1: [range(2, 100)] }),
    rawPath('aigw-openai', { satRps: [800] }),
  ]);
  const result: AnchorResult = {
    kind: 'anchors',
    mode: 'full',
    startedAt: '2026-11-30T17:00:00.000Z',
    env: { cpuModel: 'Test CPU', cores: 2, memGB: 4, kernel: 'Linux', node: 'v20', envoy: '1.40.0', autocannon: '8', undici: '6', commit: 'abcdef1234567', dirty: false, loadavg: [0.1, 0.2, 0.3] },
    settings: anchorSettings(false),
    extprocTransport: 'tcp',
    aigw: { binary: '/tmp/aigw/extproc', version: 'v1.1.0' },
    paths: summary,
    goals: checkGoals(summary),
    problems: problemsOf(summary),
  };
  const md = renderAnchors(result);
  const lines = md.split('\n');
  const header = `| ${LATENCY_COLUMNS.join(' | ')} |`;
  assert.equal(lines.filter((l) => l === header).length, 3, 'c=1, c=10 and stream TTFB tables');
  for (const section of ['## Latency at c=1', '## Latency at c=10', '## Stream time to first byte at c=1', '## Throughput, CPU and memory', '## Goals (issue 11)', '## Problems']) {
    assert.ok(md.includes(section), section);
  }
  const row = (prefix: string, id: string): string[] => {
    const at = lines.findIndex((l) => l.startsWith(prefix));
    const found = lines.slice(at).find((l) => l.startsWith(`| ${id} |`));
    assert.ok(found, `${id} row under ${prefix}`);
    return found.split('|').slice(1, -1).map((c) => c.trim());
  };
  const c1 = row('## Latency at c=1', 'gateway-policies-embedded');
  assert.deepEqual(c1.slice(0, 6), ['gateway-policies-embedded', '100', '51.00', '91.00', '100.00', '101.00']);
  assert.deepEqual(c1.slice(6), ['+1.00', '+1.00', '+1.00', '+1.00']);
  assert.deepEqual(row('## Latency at c=1', 'bare-openai').slice(6), ['—', '—', '—', '—']);
  const cost = row('## Throughput', 'gateway-openai');
  assert.equal(cost.length, COST_COLUMNS.length);
  assert.deepEqual([cost[2], cost[3], cost[8]], ['1,000', '1.25', '2 / 1']);
  assert.equal(row('## Throughput', 'aigw-openai')[3], '—');
  assert.match(md, /\| throughput at saturation ≥ 1\.25 × AIGW \| gateway-policies-embedded \| 1,000 vs AIGW 800 req\/s \(× 1\.25\) \| met \|/);
  assert.match(md, /Envoy AI Gateway: ext_proc v1\.1\.0/);
  assert.match(md, /our ext_procs on loopback TCP/);
  assert.match(md, /- gateway-openai: 2 non-2xx, 1 errors of 13/);

  assert.match(md, /^# llm-extproc vs Envoy AI Gateway \(anchor comparison\)$/m);
  assert.match(md, /loopback TCP \(AIGW's on a Unix socket\)/);

  const without = renderAnchors({ ...result, aigw: { missing: aigwMissingLine('/x/extproc') }, problems: [] });
  assert.ok(without.includes('build-aigw.sh') && !without.includes('## Problems'));
  assert.ok(!without.includes("AIGW's on a Unix socket"), 'no AIGW transport when AIGW was not run');

  const custom = renderAnchors({ ...result, custom: 'custom run: 1 round × 0.5 s' });
  assert.match(custom, /^# llm-extproc vs Envoy AI Gateway \(anchor comparison; custom run: 1 round × 0\.5 s, shorter than the default: not the README's numbers\)$/m);
});
