import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { extprocNodeArgs } from '../../src/cli/extproc-process.ts';
import { DEMO_PROVIDERS, PROJECT_ROOT } from '../../src/cli/stack.ts';
import { waitUntil } from '../../src/lib/wait-until.ts';
import { hello, startTestStack, type TestStack } from '../support/e2e.ts';

/**
 * Envoy → ext_proc over a Unix domain socket (`extprocSocket`, `--listen unix:/…`), through the
 * real Envoy (google_grpc `target_uri: unix:/…`) and the openai SDK: requests and streams are
 * served, the socket file is mode 0660, a second ext_proc refuses the live socket, a clean stop
 * removes the file and a stale one (its process killed) is replaced.
 */
describe('ext_proc on a Unix domain socket', () => {
  const sockDir = mkdtempSync(path.join(tmpdir(), 'llmx-uds-'));
  const sock = path.join(sockDir, 'extproc.sock');
  let gw: TestStack;

  before(async () => {
    gw = await startTestStack({ extprocSocket: sock });
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

  test('a second ext_proc refuses the live socket with one line, and the first keeps serving', async () => {
    const stateDir = mkdtempSync(path.join(tmpdir(), 'llmx-uds-state-'));
    // The demo config's variables (provider keys, demo keys): this process never calls a provider.
    const keys = Object.fromEntries(DEMO_PROVIDERS.map((p) => [p.keyEnv, 'unused']));
    const env: NodeJS.ProcessEnv = { ...process.env, ...keys, GATEWAY_DEMO_KEY: 'sk-unused', GATEWAY_DEMO_SUPPORT_KEY: 'sk-unused-support', GATEWAY_STATE_FILE: path.join(stateDir, 'state.sqlite') };
    delete env.REDIS_URL;
    delete env.GATEWAY_ADMIN_KEY; // the demo config's admin API stays off: this one must fail at the socket
    try {
      const second = spawn(
        process.execPath,
        [...extprocNodeArgs('source'), '--config', path.join(PROJECT_ROOT, 'config/gateway.yaml'), '--listen', `unix:${sock}`, '--metrics-listen', ''],
        { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      second.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      const code = await new Promise<number | null>((resolve) => second.once('exit', resolve));
      assert.equal(code, 1, stderr);
      assert.equal(
        stderr.trim(),
        `cannot listen on unix:${sock} (ext_proc gRPC): another process is listening on this socket (is another ext_proc running?); change server.listen in the config or --listen`,
      );
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
    assert.ok(lstatSync(sock).isSocket(), 'the live socket is left in place');
    await assertServed();
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
