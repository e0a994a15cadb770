import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { spawnManaged } from '../../src/cli/child.ts';
import { findOrInstallEnvoy } from '../../src/cli/envoy-binary.ts';
import { renderEnvoyConfig } from '../../src/cli/envoy-config.ts';
import { freePort } from '../../src/cli/ports.ts';
import { waitUntil } from '../../src/lib/wait-until.ts';
import { schemaErrors } from '../support/openai-schema.ts';
import { ROOT, runCli as runCliWith, startCli as startCliWith, stopCli, type Cli } from '../support/cli.ts';

/**
 * `npm start` as a new user runs it: the real CLI (src/cli/start.ts) as a child process, with
 * its banner, its request log on stdout, the README's client snippet, a second start on a busy
 * port, and its ext_proc killed with SIGKILL.
 */
// A new user's environment: no demo key set.
const ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'GATEWAY_DEMO_KEY'));
const runCli = (args: string[]): Cli => runCliWith(args, ENV);
const startCli = (args: string[]): ReturnType<typeof startCliWith> => startCliWith(args, ENV);

/** Pids whose parent is `ppid` (Linux /proc), with their command lines. */
function childrenOf(ppid: number): Array<{ pid: number; cmd: string }> {
  const out: Array<{ pid: number; cmd: string }> = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppidOf = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppidOf === ppid) out.push({ pid: Number(name), cmd: readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ') });
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

const alive = (pid: number): boolean => existsSync(`/proc/${pid}`) && !/^\S+ \([^)]*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));

async function chat(httpUrl: string, key = 'sk-llmx-demo'): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }> {
  const res = await fetch(`${httpUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }] }),
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> };
}

const jsonLines = (text: string): Array<Record<string, unknown>> =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('npm start on its defaults, as a new user runs it', () => {
  let gw: Awaited<ReturnType<typeof startCli>>;
  let runDir: string;
  before(async () => {
    findOrInstallEnvoy();
    runDir = mkdtempSync(path.join(tmpdir(), 'llmx-start-'));
    // The README's port 8080 may be taken on a shared machine: a free port, substituted in the snippet below.
    gw = await startCli(['--http-port', String(await freePort()), '--https-port', '0', '--metrics-port', '0', '--admin-api-port', '0', '--run-dir', runDir]);
  });
  after(async () => {
    if (gw) {
      const kids = childrenOf(gw.proc.pid!);
      const crashes = gw.stderr().split('died:').length;
      const st = await stopCli(gw);
      assert.equal(st.code, 0, 'Ctrl-C ends npm start cleanly');
      assert.equal(gw.stderr().split('died:').length, crashes, 'the ext_proc ending on Ctrl-C is no crash');
      assert.doesNotMatch(gw.stderr(), /envoy exited/);
      for (const k of kids) assert.ok(!alive(k.pid), `${k.cmd} stopped with it`);
    }
    rmSync(runDir, { recursive: true, force: true });
  });

  test("the README's client snippet runs as copied (with the demo key npm start prints)", async () => {
    assert.match(gw.stderr(), /demo key {2}: sk-llmx-demo\n/);
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const snippet = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!).find((s) => s.includes("from 'openai'"));
    assert.ok(snippet, 'the README has the client snippet');
    assert.ok(snippet.includes('http://127.0.0.1:8080/v1'), 'it calls the default plaintext listener');
    const dir = mkdtempSync(path.join(tmpdir(), 'llmx-snippet-'));
    try {
      symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
      writeFileSync(path.join(dir, 'snippet.mts'), snippet.replace('http://127.0.0.1:8080/v1', `${gw.httpUrl}/v1`));
      const run = spawn(process.execPath, ['--import', 'tsx', 'snippet.mts'], { cwd: dir, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      run.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
      run.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
      const code = await new Promise<number | null>((r) => run.once('exit', r));
      assert.equal(code, 0, err);
      assert.ok(out.trim().length > 0, 'the streamed answer is printed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // Piped (not a terminal), the request log on stdout is the JSON line.
    await waitUntil('request lines', async () => jsonLines(gw.stdout()).filter((l) => l.msg === 'request').length >= 2, 10_000);
    const requests = jsonLines(gw.stdout()).filter((l) => l.msg === 'request');
    assert.deepEqual(requests.map((l) => [l.model, l.status, l.key_name]).sort(), [
      ['claude-sonnet-4-5', 200, 'demo'],
      ['gemini-2.5-flash', 200, 'demo'],
    ]);
  });

  test('a second npm start on a port in use fails at once with one line naming the flag', async () => {
    const other = mkdtempSync(path.join(tmpdir(), 'llmx-start2-'));
    try {
      const httpPort = new URL(gw.httpUrl).port;
      const httpsPort = /TLS 1\.3 {3}: https:\/\/localhost:(\d+)/.exec(gw.stderr())![1]!;
      const metricsPort = new URL(gw.metricsUrl).port;
      for (const [flag, port, label] of [
        ['--http-port', httpPort, 'plaintext listener'],
        ['--https-port', httpsPort, 'TLS listener'],
        ['--metrics-port', metricsPort, 'metrics'],
      ] as const) {
        const ports = { '--http-port': '0', '--https-port': '0', '--metrics-port': '0', [flag]: port };
        const second = runCli([...Object.entries(ports).flat(), '--run-dir', other]);
        const st = await second.exit;
        assert.equal(st.code, 1, second.stderr());
        assert.equal(
          second.stderr(),
          `npm start: port ${port} on 127.0.0.1 (${label}) is already in use; is another gateway running? Choose another port with ${flag} N\n`,
        );
      }
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
    assert.equal((await chat(gw.httpUrl)).status, 200, 'the first gateway still serves, alone');
  });

  test('Envoy itself refuses a listener port another Envoy holds (no SO_REUSEPORT)', async () => {
    const certs = path.join(runDir, 'certs');
    const values: Record<string, string | number> = {
      ADMIN_PORT: await freePort(),
      LISTEN_HOST: '127.0.0.1',
      PLAIN_LISTEN_HOST: '127.0.0.1',
      HTTPS_PORT: await freePort(),
      HTTP_PORT: new URL(gw.httpUrl).port,
      TLS_CERT: path.join(certs, 'server.pem'),
      TLS_KEY: path.join(certs, 'server-key.pem'),
      CA_CERT: path.join(certs, 'ca.pem'),
      EXTPROC_TARGET: `127.0.0.1:${await freePort()}`,
      OPENAI_PRIMARY_PORT: await freePort(),
      OPENAI_BACKUP_PORT: await freePort(),
      ANTHROPIC_PORT: await freePort(),
      GEMINI_PORT: await freePort(),
    };
    const rendered = path.join(runDir, 'second-envoy.yaml');
    renderEnvoyConfig(path.join(ROOT, 'envoy/envoy.yaml'), rendered, values);
    let said = '';
    const envoy = spawnManaged('envoy', findOrInstallEnvoy(), ['-c', rendered, '--use-dynamic-base-id', '--log-level', 'warn'], {
      logFile: path.join(runDir, 'second-envoy.log'),
      onStderrText: (t) => (said += t),
    });
    const giveUp = new AbortController();
    const st = await Promise.race([envoy.exitStatus, delay(15_000, undefined, { signal: giveUp.signal }).catch(() => undefined)]);
    giveUp.abort();
    await envoy.stop();
    assert.ok(st && st.code !== 0, `the second Envoy must not start on a port in use; it said: ${said}`);
    assert.match(said, new RegExp(`cannot bind '127\\.0\\.0\\.1:${values.HTTP_PORT}': Address already in use`));
  });

  test('a killed ext_proc fails closed, is restarted with back-off and logged, and serves again', async () => {
    assert.deepEqual(JSON.parse(await (await fetch(`${gw.metricsUrl}/healthz`)).text()), { status: 'serving' });
    const extproc = childrenOf(gw.proc.pid!).find((c) => c.cmd.includes('src/main.ts'));
    assert.ok(extproc, 'npm start runs the ext_proc as its child');
    process.kill(extproc.pid, 'SIGKILL');
    await waitUntil('the crash report', async () => gw.stderr().includes(`ext_proc (pid ${extproc.pid}) died`), 10_000);
    assert.match(gw.stderr(), new RegExp(`ext_proc \\(pid ${extproc.pid}\\) died: killed by SIGKILL\\. Restarting in 0\\.25 s \\(restart 1\\)`));

    // Meanwhile: Envoy answers for the dead service with an OpenAI-format 503.
    const down = await chat(gw.httpUrl);
    assert.equal(down.status, 503);
    assert.deepEqual(schemaErrors('ErrorResponse', down.json), []);
    assert.equal((down.json.error as { code: string }).code, 'gateway_unavailable');
    assert.equal(down.headers.get('retry-after'), '1');
    // The new user's report: 8 requests 0.1 s apart while it is down (or coming back).
    const meanwhile = [down];
    for (let i = 0; i < 8; i++) {
      meanwhile.push(await chat(gw.httpUrl));
      await delay(100);
    }

    let status = 0;
    let alive200: Awaited<ReturnType<typeof chat>> | undefined;
    await waitUntil('served again', async () => (status = (alive200 = await chat(gw.httpUrl)).status) === 200, 30_000);
    assert.equal(status, 200);

    // Each of them has exactly one request log line on npm start's stdout, whoever wrote it: the
    // refused ones Envoy's stdout access log (the ext_proc was gone), any served one the ext_proc.
    const refused = meanwhile.filter((r) => r.status === 503);
    assert.ok(refused.length >= 1);
    for (const r of meanwhile) assert.ok(r.status === 503 || r.status === 200, `status ${r.status}`);
    const requestLines = (id: string | null): Array<Record<string, unknown>> =>
      jsonLines(gw.stdout()).filter((l) => l.msg === 'request' && l.request_id === id);
    const last = [...meanwhile, alive200!].map((r) => r.headers.get('x-request-id'));
    await waitUntil('a line for each', async () => last.every((id) => requestLines(id).length > 0), 10_000);
    // A second line would come within the ext_proc's 2 s wait for Envoy's gRPC access log entry.
    await delay(2500);
    for (const r of refused) {
      const id = r.headers.get('x-request-id');
      assert.ok(id);
      const lines = requestLines(id);
      assert.equal(lines.length, 1, `one line for ${id}: ${JSON.stringify(lines)}`);
      assert.equal(lines[0]!.status, 503);
      assert.equal(lines[0]!.outcome, 'rejected');
      assert.equal(lines[0]!.provider, 'envoy');
      assert.equal(lines[0]!.error_code, (r.json.error as { code: string }).code);
      assert.equal(lines[0]!.method, 'POST');
      assert.equal(lines[0]!.path, '/v1/chat/completions');
      assert.equal(lines[0]!.level, 30);
    }
    for (const r of [...meanwhile.filter((m) => m.status === 200), alive200!]) {
      const lines = requestLines(r.headers.get('x-request-id'));
      assert.equal(lines.length, 1, JSON.stringify(lines));
      assert.equal(lines[0]!.outcome, 'completed');
      assert.equal(lines[0]!.status, 200);
    }
    // Envoy counts them too (admin /stats): each refused stream is an ext_proc stream that failed.
    const envoyAdmin = /envoy\s+: (http:\/\/\S+)/.exec(gw.stderr())?.[1];
    assert.ok(envoyAdmin, gw.stderr());
    const stats = await (await fetch(`${envoyAdmin}/stats?filter=^http\\.llm\\.ext_proc\\.streams_failed$`)).text();
    assert.ok(Number(/streams_failed: (\d+)/.exec(stats)?.[1]) >= refused.length, stats);
    const restarted = /ext_proc restarted \(pid (\d+)\) and serving again after restart 1\./.exec(gw.stderr());
    assert.ok(restarted, gw.stderr());
    assert.notEqual(Number(restarted[1]), extproc.pid);
    assert.ok(alive(Number(restarted[1])));
    assert.deepEqual(JSON.parse(await (await fetch(`${gw.metricsUrl}/healthz`)).text()), { status: 'serving' });
  });
});

describe('npm start in a terminal', () => {
  test('--log-format pretty (what a terminal gets): one short request line, no JSON', async () => {
    const runDir = mkdtempSync(path.join(tmpdir(), 'llmx-start-'));
    const gw = await startCli(['--http-port', '0', '--https-port', '0', '--metrics-port', '0', '--admin-api-port', '0', '--run-dir', runDir, '--log-format', 'pretty']);
    try {
      assert.equal((await chat(gw.httpUrl)).status, 200);
      await waitUntil('the request line', async () => / 200 gpt-4o-mini → openai-primary /.test(gw.stdout()), 10_000);
      const line = gw.stdout().split('\n').find((l) => / 200 gpt-4o-mini → /.test(l))!;
      assert.match(line, /^\[\d\d:\d\d:\d\d\] INFO: 200 gpt-4o-mini → openai-primary {2}\d+ in \/ \d+ out tok {2}[\d.]+ ms {2}completed$/);
      // Envoy's own line for a request it refused while the ext_proc was gone, in the same columns.
      const extproc = childrenOf(gw.proc.pid!).find((c) => c.cmd.includes('src/main.ts'))!;
      process.kill(extproc.pid, 'SIGKILL');
      await waitUntil('the crash report', async () => gw.stderr().includes(`ext_proc (pid ${extproc.pid}) died`), 10_000);
      assert.equal((await chat(gw.httpUrl)).status, 503);
      await waitUntil('the refused line', async () => / 503 POST /.test(gw.stdout()), 10_000);
      const refused = gw.stdout().split('\n').find((l) => / 503 POST /.test(l))!;
      assert.match(refused, /^\[\d\d:\d\d:\d\d\] INFO: 503 POST \/v1\/chat\/completions {2}rejected gateway_unavailable$/);
      assert.ok(!gw.stdout().split('\n').some((l) => l.startsWith('{')), 'no JSON lines');
    } finally {
      assert.equal((await stopCli(gw)).code, 0);
      rmSync(runDir, { recursive: true, force: true });
    }
  });

  test('--help prints the options; an unknown option is one line', async () => {
    const help = runCli(['--help']);
    assert.equal((await help.exit).code, 0);
    assert.match(help.stdout(), /^Usage: npm start/);
    for (const flag of ['--config', '--envoy-config', '--http-port', '--https-port', '--metrics-port', '--admin-port', '--extproc-port', '--no-simulators', '--run-dir', '--log-format']) {
      assert.ok(help.stdout().includes(flag), flag);
    }
    const bad = runCli(['--htp-port', '1']);
    assert.equal((await bad.exit).code, 2);
    assert.equal(bad.stderr(), "npm start: Unknown option '--htp-port' (see npm start -- --help)\n");
  });
});
