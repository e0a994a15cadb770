import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type { BenchResult } from '../../bench/result.ts';

/**
 * `npm run bench -- --quick --policies`: the policy paths (rate limits and a budget on, embedded
 * state and Redis) run next to the gateway without policies and the result says what they add.
 * The bench's preflight refuses a policy path without `x-ratelimit-*` headers (policies not on).
 * Nothing here looks at a timing.
 */
const PROJECT = path.resolve(import.meta.dirname, '../..');
const outDir = mkdtempSync(path.join(tmpdir(), 'llmx-bench-policies-'));
after(() => rmSync(outDir, { recursive: true, force: true }));

function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args, '--out-dir', outDir], { cwd: PROJECT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}

test('bench --policies measures the gateway with policies on, embedded and Redis, against the gateway without', { timeout: 180_000 }, async () => {
  const { code, stderr } = await run(['--quick', '--policies', '--paths', 'gateway-openai', '--profiles', 'instant']);
  assert.equal(code, 0, `bench --quick --policies exited with ${String(code)}:\n${stderr.slice(-4000)}`);
  const result = JSON.parse(readFileSync(path.join(outDir, 'latest-quick.json'), 'utf8')) as BenchResult;

  assert.deepEqual(result.paths.map((p) => p.id).sort(), ['gateway-openai', 'gateway-policies-embedded', 'gateway-policies-redis']);
  assert.deepEqual(result.problems, [], 'no request refused or failed: the bench limits are never reached');
  assert.deepEqual(
    result.policyPairs?.map((p) => [p.path, p.baseline]),
    [
      ['gateway-policies-embedded', 'gateway-openai'],
      ['gateway-policies-redis', 'gateway-openai'],
    ],
  );
  for (const id of ['gateway-policies-embedded', 'gateway-policies-redis']) {
    const cell = result.cells.find((c) => c.path === id && c.profile === 'instant');
    assert.ok((cell?.saturation?.ok ?? 0) > 0, `${id} answered at saturation`);
    assert.ok(Number.isFinite(cell?.saturation?.cpu.usPerReq['extproc']), `${id}: its own ext_proc's CPU is attributed`);
  }
  // Every request on the Redis path called Redis (each state call is one script).
  const redisCell = result.cells.find((c) => c.path === 'gateway-policies-redis');
  assert.ok((redisCell?.redisCommands?.calls ?? 0) >= 1, `Redis calls per request: ${JSON.stringify(redisCell?.redisCommands)}`);
  assert.equal(result.cells.find((c) => c.path === 'gateway-policies-embedded')?.redisCommands, undefined);
  for (const name of ['extproc-policies-embedded', 'extproc-policies-redis', 'envoy-policies-embedded', 'envoy-policies-redis', 'redis']) {
    assert.ok((result.processes[name]?.peakRssMB ?? 0) > 0, `${name} was sampled`);
  }

  const md = readFileSync(path.join(outDir, 'latest-quick.md'), 'utf8');
  assert.ok(md.includes('## What the policies add'), 'the policies table is in the report');
  assert.match(md, /\| instant \| gateway-policies-redis \| [\d,]+ \| [\d,]+ \|/, 'the Redis row carries CPU per request with and without');
  assert.ok(result.targets.some((t) => t.path === 'gateway-policies-embedded' && t.unit === 'µs/req'), 'the 0.05 ms target row is there');
});
