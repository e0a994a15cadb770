import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findOrInstallEnvoy } from '../../src/cli/envoy-binary.ts';
import { waitUntil } from '../../src/lib/wait-until.ts';
import { ROOT, startCli, stopCli, type Banner, type Cli } from '../support/cli.ts';

/**
 * The README's "Walkthrough: teams, limits, budgets and the cache", run as written: `npm start`
 * (the real CLI, on free ports and a fresh run dir, so spend starts at 0) and the section's
 * shell blocks in one bash, with only the port and admin-key variables of its setup block
 * replaced. Each step's output must show what the README shows (lines without `…` verbatim;
 * with `…`, its pieces in order on one line), and the statuses and headers that matter are
 * asserted on their own.
 */

// A new user's environment: none of the variables that would change keys, ports or state.
const ENV = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !['GATEWAY_DEMO_KEY', 'GATEWAY_ADMIN_KEY', 'GATEWAY_STATE_FILE', 'REDIS_URL'].includes(k)),
);

interface Block {
  /** The sh block's commands. */
  code: string;
  /** The text block right after it (what the README says it prints), if any. */
  shown?: string;
}

/** The walkthrough section's sh blocks, each with the text block that follows it. */
function walkthroughBlocks(): Block[] {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Walkthrough: teams, limits, budgets and the cache\n');
  assert.ok(start >= 0, 'the README has the walkthrough section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const blocks: Block[] = [];
  for (const m of section.matchAll(/```(sh|text)\n([\s\S]*?)```/g)) {
    if (m[1] === 'sh') blocks.push({ code: m[2]! });
    else {
      assert.ok(blocks.length > 0 && blocks.at(-1)!.shown === undefined, 'a text block follows an sh block');
      blocks.at(-1)!.shown = m[2]!;
    }
  }
  return blocks;
}

/** Whether `actual` shows every line of `shown`: verbatim, or for a line with `…` its pieces in order on one line. */
function showsAll(actual: string, shown: string): string[] {
  const lines = actual.split('\n').map((l) => l.replace(/\r$/, ''));
  const missing: string[] = [];
  for (const want of shown.split('\n').filter((l) => l.trim() !== '')) {
    const pieces = want.split('…');
    const found = lines.some((line) => {
      let at = 0;
      for (const [i, piece] of pieces.entries()) {
        const k = i === 0 ? (line.startsWith(piece) ? 0 : -1) : line.indexOf(piece, at);
        if (k < 0) return false;
        at = k + piece.length;
      }
      return pieces.length > 1 || line === want;
    });
    if (!found) missing.push(want);
  }
  return missing;
}

async function bash(script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn('bash', ['-c', script], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  return { code, stdout, stderr };
}

describe("the README's walkthrough, run as written against npm start", () => {
  let gw: Cli & Banner;
  let runDir: string;
  let steps: Array<Block & { output: string }>;

  before(async () => {
    findOrInstallEnvoy();
    runDir = mkdtempSync(path.join(tmpdir(), 'llmx-walkthrough-'));
    // The flags the walkthrough names for moving the listeners, with free ports.
    gw = await startCli(['--http-port', '0', '--https-port', '0', '--metrics-port', '0', '--admin-api-port', '0', '--run-dir', runDir, '--log-format', 'json'], ENV);

    const [startBlock, setup, ...rest] = walkthroughBlocks();
    assert.match(startBlock!.code, /^npm start\b/);
    const vars: Record<string, string> = { GW: gw.httpUrl, METRICS: gw.metricsUrl, ADMIN: gw.adminApiUrl, ADMIN_KEY: gw.adminKey };
    for (const name of Object.keys(vars)) assert.match(setup!.code, new RegExp(`^${name}=`, 'm'), `the setup block sets ${name}`);
    const preamble = setup!.code.replace(/^(GW|METRICS|ADMIN|ADMIN_KEY)=\S+/gm, (_, name: string) => `${name}='${vars[name]}'`);
    const marker = (i: number): string => `@@ walkthrough step ${i} @@`;
    const script = ['set -u', preamble, ...rest.map((b, i) => `echo '${marker(i)}'\n${b.code}`)].join('\n');
    const run = await bash(script);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '', 'no command complains');
    steps = rest.map((b, i) => {
      const from = run.stdout.indexOf(`${marker(i)}\n`) + marker(i).length + 1;
      const to = i + 1 < rest.length ? run.stdout.indexOf(`${marker(i + 1)}\n`) : run.stdout.length;
      return { ...b, output: run.stdout.slice(from, to) };
    });
  });
  after(async () => {
    if (gw) assert.equal((await stopCli(gw)).code, 0, 'Ctrl-C ends npm start cleanly');
    if (runDir) rmSync(runDir, { recursive: true, force: true });
  });

  test('npm start prints the keys the walkthrough uses', () => {
    assert.equal(gw.demoKey, 'sk-llmx-demo');
    assert.equal(gw.teamKey, 'sk-llmx-demo-support');
    assert.match(gw.adminKey, /^sk-llmx-admin-\S{20,}$/);
  });

  test('every step prints what the README shows', () => {
    assert.equal(steps.length, 7, 'steps 1-6 (step 5 has two blocks)');
    for (const [i, s] of steps.entries()) {
      assert.ok(s.shown, `step block ${i} has its output in the README`);
      assert.deepEqual(showsAll(s.output, s.shown), [], `step block ${i} printed:\n${s.output}`);
    }
  });

  test('1: the support key lists only its models; another model is 403 model_not_permitted', () => {
    const [list, refusal] = steps[0]!.output.trim().split('\n');
    assert.deepEqual(
      (JSON.parse(list!) as { data: Array<{ id: string }> }).data.map((m) => m.id),
      ['gpt-4o-mini', 'gemini-2.5-flash'],
    );
    const m = /^(\{.*\}) (\d{3})$/.exec(refusal!);
    assert.ok(m, refusal);
    assert.equal(m[2], '403');
    assert.equal((JSON.parse(m[1]!) as { error: { code: string } }).error.code, 'model_not_permitted');
  });

  test('2: the support team gets x-ratelimit-* for its limits and the cost of the answer', () => {
    const h = headers(steps[1]!.output);
    assert.equal(h['x-ratelimit-limit-requests'], '60');
    assert.equal(h['x-ratelimit-remaining-requests'], '59');
    assert.equal(h['x-ratelimit-limit-tokens'], '100000');
    assert.ok(Number(h['x-ratelimit-remaining-tokens']) < 100000);
    assert.match(h['x-ratelimit-reset-requests'] ?? '', /^\d/);
    assert.ok(Number(h['x-gateway-cost-usd']) > 0);
  });

  test('3: the same deterministic request twice is a miss (with a cost), then a hit (without)', () => {
    const lines = steps[2]!.output.trim().split('\n').map((l) => l.trim().toLowerCase());
    assert.equal(lines[0], 'x-gateway-cache: miss');
    assert.match(lines[1]!, /^x-gateway-cost-usd: 0\.\d+$/);
    assert.deepEqual(lines.slice(2), ['x-gateway-cache: hit']);
  });

  test('4 and 5: a created key of team research is served, then degraded, then refused 429 budget_exceeded', async () => {
    const created = JSON.parse(steps[3]!.output) as { object: string; team: string; key: string };
    assert.equal(created.object, 'gateway.key');
    assert.equal(created.team, 'research');
    assert.match(created.key, /^sk-llmx-/);

    const [first, second, third] = steps[4]!.output.trim().split('\n');
    for (const served of [first, second]) {
      assert.match(served!, /^x-gateway-cost-usd: 0\.\d+ "model":"claude-sonnet-4-5"$/);
    }
    assert.match(third!, /^x-gateway-degraded-from: claude-sonnet-4-5 x-gateway-cost-usd: 0\.\d+ "model":"gpt-4o-mini"$/);

    const m = /^(\{.*\}) (\d{3})$/.exec(steps[5]!.output.trim());
    assert.ok(m, steps[5]!.output);
    assert.equal(m[2], '429');
    const err = (JSON.parse(m[1]!) as { error: { code: string; type: string; message: string } }).error;
    assert.equal(err.code, 'budget_exceeded');
    assert.equal(err.type, 'insufficient_quota');
    assert.match(err.message, /team research/);

    // The log lines: team and cost per request, the spend the budget counted.
    await waitUntil('the research lines', async () => requestLines(gw.stdout()).filter((l) => l.key_name === 'research-bot').length >= 4, 10_000);
    const research = requestLines(gw.stdout()).filter((l) => l.key_name === 'research-bot');
    assert.deepEqual(
      research.map((l) => [l.team, l.model, l.degraded_from, l.status]),
      [
        ['research', 'claude-sonnet-4-5', undefined, 200],
        ['research', 'claude-sonnet-4-5', undefined, 200],
        ['research', 'gpt-4o-mini', 'claude-sonnet-4-5', 200],
        ['research', 'claude-sonnet-4-5', undefined, 429],
      ],
    );
    const charged = [first, second, third].map((l) => Number(/x-gateway-cost-usd: (\S+)/.exec(l!)![1]));
    assert.deepEqual(
      research.slice(0, 3).map((l) => l.cost_usd),
      charged,
    );
  });

  test('6: /metrics has the cost per model, provider and team', () => {
    const out = steps[6]!.output;
    assert.match(out, /^gateway_cost_usd_total\{model="claude-sonnet-4-5",provider="anthropic",team="research"\} \d/m);
    assert.match(out, /^gateway_cache_saved_cost_usd_total\{model="gpt-4o-mini",team="demo"\} \d/m);
  });

  test("the log line the README shows is one npm start wrote", () => {
    const section = readFileSync(path.join(ROOT, 'README.md'), 'utf8').split('\n## Walkthrough:')[1]!.split('\n## ')[0]!;
    const shown = /```json\n([\s\S]*?)```/.exec(section);
    assert.ok(shown, 'the section shows a log line');
    assert.deepEqual(showsAll(gw.stdout(), shown[1]!), []);
  });
});

/** `name: value` header lines (names lower-cased). */
function headers(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split('\n')
      .map((l) => /^([\w-]+): (.*?)\r?$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1]!.toLowerCase(), m[2]!]),
  );
}

function requestLines(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{') && l.includes('"msg":"request"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
