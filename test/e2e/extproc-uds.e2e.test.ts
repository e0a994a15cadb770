import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { extprocNodeArgs } from '../../src/cli/extproc-process.ts';
import { DEMO_PROVIDERS, PROJECT_ROOT, startStack } from '../../src/cli/stack.ts';
import { waitUntil } from '../../src/lib/wait-until.ts';
import { hello, startTestStack, type TestStack } from '../support/e2e.ts';

/**
 * Envoy → ext_proc over a Unix domain socket (`extprocSocket`, `--listen unix:/…`), through the
 * real Envoy (google_grpc `target_uri: unix:/…`) and the openai SDK: requests and streams are
 * served, the socket file is mode 0660, a second ext_proc refuses the live socket, a missing
 * directory is refused with that reason, a clean stop removes the file and a stale one (its
 * process killed) is replaced, with a log line when the stack removes it.
 */
describe('ext_proc on a Unix domain socket', () => {
  const sockDir = mkdtempSync(path.join(tmpdir(), 'llmx-uds-'));
  const sock = path.join(sockDir, 'extproc.sock');
  let gw: TestStack;
  const said: string[] = [];

  before(async () => {
    // A stale socket file at the path (its process was killed): the stack removes it and says so.
    const dead = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(sock)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => dead.stdout.once('data', () => resolve()));
    dead.kill('SIGKILL');
    await new Promise((resolve) => dead.once('exit', resolve));
    gw = await startTestStack({ extprocSocket: sock, log: (line) => said.push(line) });
  });
  after(async () => {
    await gw?.dispose();
    rmSync(sockDir, { recursive: true, force: true });
  });

  /** One request and one stream through Envoy, both served by the ext_proc (its log line). */
  async function assertServed(): Promise<void> {
    const client = gw.client();
    const { data, response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: hello }).withResponse();
    assert.match(data.choices[0]?.message.content ?? '', /Hello there/);
    const line = await gw.requestLog(response.headers.get('x-request-id'));
    assert.equal(line.outcome, 'completed');
    let text = '';
    for await (const chunk of await client.chat.completions.create({ model: 'claude-sonnet-4-5', messages: hello, stream: true })) {
      text += chunk.choices[0]?.delta.content ?? '';
    }
    assert.match(text, /Hello there/);
  }

  test('Envoy calls the ext_proc on the socket: a request and a stream are served', async () => {
    assert.equal(gw.extprocTarget, `unix:${sock}`);
    assert.equal(gw.extprocPort, 0);
    const rendered = readFileSync(path.join(gw.runDir, 'envoy.rendered.yaml'), 'utf8');
    assert.equal(rendered.split(`target_uri: "unix:${sock}"`).length - 1, 3, 'ext_proc filters, upstream log and access log all use the socket');
    assert.doesNotMatch(rendered, /EXTPROC_/);
    await assertServed();
    const ready = gw.logLines().find((l) => l.msg === 'gateway ready');
    assert.equal(ready?.extproc_listen, `unix:${sock}`);
  });

  test('the socket file is a socket only its owner and group may connect to (0660)', () => {
    const st = lstatSync(sock);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o660);
    assert.equal(st.uid, process.getuid!());
  });

  /** Runs a second ext_proc service (the demo config) on `listen`; resolves its exit code and stderr. */
  async function runSecondExtproc(listen: string): Promise<{ code: number | null; stderr: string }> {
    const stateDir = mkdtempSync(path.join(tmpdir(), 'llmx-uds-state-'));
    // The demo config's variables (provider keys, demo keys): this process never calls a provider.
    const keys = Object.fromEntries(DEMO_PROVIDERS.map((p) => [p.keyEnv, 'unused']));
    const env: NodeJS.ProcessEnv = { ...process.env, ...keys, GATEWAY_DEMO_KEY: 'sk-unused', GATEWAY_DEMO_SUPPORT_KEY: 'sk-unused-support', GATEWAY_STATE_FILE: path.join(stateDir, 'state.sqlite') };
    delete env.REDIS_URL;
    delete env.GATEWAY_ADMIN_KEY; // the demo config's admin API stays off: this one must fail at the socket
    try {
      const second = spawn(
        process.execPath,
        [...extprocNodeArgs('source'), '--config', path.join(PROJECT_ROOT, 'config/gateway.yaml'), '--listen', listen, '--metrics-listen', ''],
        { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      second.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      const code = await new Promise<number | null>((resolve) => second.once('exit', resolve));
      return { code, stderr };
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  }

  test('the stale socket file found at start was removed with one log line naming it', () => {
    assert.deepEqual(
      said.filter((l) => l.includes('stale')),
      [`removed a stale ext_proc socket file at ${sock} (nothing listened on it)`],
    );
  });

  test('a second ext_proc refuses the live socket with one line, and the first keeps serving', async () => {
    const { code, stderr } = await runSecondExtproc(`unix:${sock}`);
    assert.equal(code, 1, stderr);
    assert.equal(
      stderr.trim(),
      `cannot listen on unix:${sock} (ext_proc gRPC): another process is listening on this socket (is another ext_proc running?); change server.listen in the config or --listen`,
    );
    assert.ok(lstatSync(sock).isSocket(), 'the live socket is left in place');
    await assertServed();
  });

  test('a socket in a missing directory is refused with that reason before the bind (service and npm start)', async () => {
    const missing = path.join(sockDir, 'no-such-dir');
    const { code, stderr } = await runSecondExtproc(`unix:${missing}/x.sock`);
    assert.equal(code, 1, stderr);
    // One line: no "permission denied", no grpc-js "No address added" before it.
    assert.equal(stderr.trim(), `cannot listen on unix:${missing}/x.sock (ext_proc gRPC): directory ${missing} does not exist; change server.listen in the config or --listen`);
    // npm start's stack checks before it starts anything, and names its own option.
    await assert.rejects(
      startStack({ extprocSocket: `${missing}/x.sock`, runDir: path.join(sockDir, 'unused-run') }),
      { message: `cannot listen on the ext_proc socket ${missing}/x.sock: directory ${missing} does not exist; choose another path with --extproc-socket PATH` },
    );
    assert.equal(existsSync(path.join(sockDir, 'unused-run')), false, 'nothing started');
  });

  test('a clean stop removes the socket file', async () => {
    await gw.stopExtproc();
    assert.equal(existsSync(sock), false);
    await gw.startExtproc();
    assert.equal(lstatSync(sock).mode & 0o777, 0o660);
    await waitUntil('served after the restart', async () => (await gw.postChat(JSON.stringify({ model: 'gpt-4o-mini', messages: hello }))).status === 200, 15_000);
    await assertServed();
  });

  test('a killed ext_proc leaves a stale socket file; its restart replaces it and serves again', async () => {
    const killed = gw.extproc;
    const before = lstatSync(sock, { bigint: true });
    killed.process.kill('SIGKILL');
    await killed.exited;
    const stale = lstatSync(sock, { bigint: true });
    assert.equal(`${stale.ino}:${stale.ctimeNs}`, `${before.ino}:${before.ctimeNs}`, 'SIGKILL left the socket file behind');
    // The supervisor restarts it (250 ms back-off): the new process finds the dead one's file.
    await waitUntil('restarted', async () => gw.extproc !== killed && gw.extprocState === 'serving', 20_000);
    const now = lstatSync(sock, { bigint: true });
    assert.ok(now.isSocket());
    assert.notEqual(`${now.ino}:${now.ctimeNs}`, `${before.ino}:${before.ctimeNs}`, 'a new socket file');
    assert.equal(Number(now.mode) & 0o777, 0o660);
    await waitUntil('served after the restart', async () => (await gw.postChat(JSON.stringify({ model: 'gpt-4o-mini', messages: hello }))).status === 200, 15_000);
    await assertServed();
  });
});
