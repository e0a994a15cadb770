import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { ALL_PATHS, DEFAULT_PATHS } from '../../bench/paths.ts';
import { MAIN_COLUMNS } from '../../bench/report.ts';
import type { BenchResult } from '../../bench/result.ts';

/**
 * `npm run bench -- --quick` is CI's smoke check of the benchmark: it must start everything,
 * measure every path and profile, write its tables and exit 0. Nothing here looks at a timing.
 */
const PROJECT = path.resolve(import.meta.dirname, '../..');
const outDir = mkdtempSync(path.join(tmpdir(), 'llmx-bench-'));
after(() => rmSync(outDir, { recursive: true, force: true }));

function runQuick(): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick', '--out-dir', outDir], { cwd: PROJECT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}

test('the quick benchmark runs, exits 0 and writes its Markdown table and JSON result', { timeout: 180_000 }, async () => {
  const started = Date.now();
  const { code, stderr } = await runQuick();
  assert.equal(code, 0, `bench --quick exited with ${String(code)}:\n${stderr.slice(-4000)}`);
  assert.ok(Date.now() - started < 120_000, 'the quick bench is meant to take well under a minute');

  const mdFile = path.join(outDir, 'latest-quick.md');
  const jsonFile = path.join(outDir, 'latest-quick.json');
  assert.ok(existsSync(mdFile) && existsSync(jsonFile), 'latest-quick.md and latest-quick.json are written');
  const md = readFileSync(mdFile, 'utf8');

  const header = `| ${MAIN_COLUMNS.join(' | ')} |`;
  const lines = md.split('\n');
  const at = lines.indexOf(header);
  assert.ok(at >= 0, `the main table header is there:\n${md.slice(0, 3000)}`);
  const rows: string[][] = [];
  for (let i = at + 2; i < lines.length && lines[i]!.startsWith('|'); i++) rows.push(lines[i]!.split('|').slice(1, -1).map((c) => c.trim()));
  for (const profile of ['instant', 'latency60', 'stream64']) {
    for (const p of ALL_PATHS.filter((x) => DEFAULT_PATHS.includes(x.id))) {
      const row = rows.find((r) => r[0] === profile && r[1] === p.id);
      assert.ok(row, `row ${profile} / ${p.id}`);
      assert.equal(row.length, MAIN_COLUMNS.length);
      assert.match(row[2]!, /^[\d,]+$/, `saturation throughput of ${profile} / ${p.id} is a number`);
      assert.match(row[4]!, /^[\d,.]+$/, `c=1 p50 of ${profile} / ${p.id} is a number`);
    }
  }
  for (const section of ['## Targets', '## What per-request planning adds', '## Open loop at fixed rates', '## Streams (probe, concurrency 1)', '## Processes (whole run)']) {
    assert.ok(md.includes(section), `section ${section}`);
  }
  assert.match(md, /\| gateway-openai \| 2\/2 \| 8 \|/, 'the stream probe got complete streams through the gateway');

  const result = JSON.parse(readFileSync(jsonFile, 'utf8')) as BenchResult;
  assert.equal(result.mode, 'quick');
  assert.equal(result.broken, false);
  assert.equal(result.cells.length, 18);
  assert.ok(result.env.commit.length > 0 && result.env.envoy.length > 0 && result.env.cores > 0);
  assert.ok(result.pairs.some((p) => p.path === 'gateway-anthropic' && p.baseline === 'bare-anthropic'));
  // Per-request planning (issue 9): every strategy measured through routeRequest, each a target row; the cases route what they say.
  const routing = result.routing!;
  assert.deepEqual(new Set(routing.rows.map((r) => r.strategy)), new Set(['priority', 'weighted', 'latency', 'cost']));
  for (const r of routing.rows) {
    assert.ok(Number.isFinite(r.us) && r.us > 0 && Number.isFinite(r.usWithExplain), `${r.case}: µs per request measured`);
    assert.ok(result.targets.some((t) => t.path === 'in-process' && t.what.endsWith(r.case) && t.value === r.us), `${r.case}: target row`);
    assert.ok(md.includes(`| ${r.case} | ${r.strategy} |`), `${r.case}: report row`);
  }
  const cost = routing.rows.find((r) => r.case.startsWith('cost, price window'))!;
  assert.notEqual(cost.orderAtStart[0], cost.orderAtEnd[0], 'the cost case crosses its price window: the cheapest target changes');
  const breakers = routing.rows.find((r) => r.case.includes('breaker open'))!;
  assert.deepEqual(breakers.orderAtStart, ['gemini/gemini-2.5-pro'], 'the open target and the half-open one whose probe is taken leave the plan');
  for (const name of ['extproc', 'envoy-gateway', 'envoy-bare']) assert.ok((result.processes[name]?.peakRssMB ?? 0) > 0, `${name} was sampled`);
});
