import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawnManaged, type ManagedChild } from '../../src/cli/child.ts';
import { restartDelayMs, Supervisor, type BackoffPolicy } from '../../src/cli/supervisor.ts';

const FAST: BackoffPolicy = { initialMs: 50, maxMs: 400, healthyAfterMs: 60_000 };

/** A real child process that stays up until killed. */
const sleeper = async (): Promise<ManagedChild> => spawnManaged('sleeper', process.execPath, ['-e', 'setInterval(() => {}, 1000)']);

async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('back-off doubles from the initial delay and stops at the cap', () => {
  const p: BackoffPolicy = { initialMs: 250, maxMs: 15_000, healthyAfterMs: 30_000 };
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8].map((n) => restartDelayMs(n, p)), [250, 500, 1000, 2000, 4000, 8000, 15_000, 15_000]);
});

test('a child killed with SIGKILL is reported with the signal and restarted; stop() does not restart', async () => {
  const lines: string[] = [];
  const sup = new Supervisor('worker', sleeper, (l) => lines.push(l), FAST);
  await sup.start();
  try {
    const first = sup.current!;
    const pid = first.process.pid;
    first.process.kill('SIGKILL');
    await until('restarted', () => sup.state === 'serving' && sup.current !== first);
    assert.notEqual(sup.current!.process.pid, pid);
    assert.match(lines[0]!, new RegExp(`^worker \\(pid ${String(pid)}\\) died: killed by SIGKILL\\. Restarting in 0\\.05 s \\(restart 1\\)`));
    assert.match(lines[1]!, /^worker restarted \(pid \d+\) and serving again after restart 1\.$/);
    // An exit code is reported as such.
    const second = sup.current!;
    second.process.kill('SIGTERM');
    await until('restarted again', () => sup.state === 'serving' && sup.current !== second);
    assert.match(lines[2]!, /died: killed by SIGTERM\. Restarting in 0\.10 s \(restart 2\)/);
  } finally {
    await sup.stop();
  }
  const last = sup.current!;
  assert.equal(sup.state, 'stopped');
  assert.ok(last.process.exitCode !== null || last.process.signalCode !== null, 'the child is gone');
  const said = lines.length;
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(lines.length, said, 'nothing restarted after stop()');
});

test('a restart that fails is retried with a longer back-off, each failure on its own line', async () => {
  const lines: string[] = [];
  let launches = 0;
  const flaky = async (): Promise<ManagedChild> => {
    launches++;
    if (launches === 2 || launches === 3) throw new Error('exit code 2 before it was ready');
    return sleeper();
  };
  const sup = new Supervisor('worker', flaky, (l) => lines.push(l), FAST);
  await sup.start();
  try {
    const first = sup.current!;
    first.process.kill('SIGKILL');
    await until('restarted', () => sup.state === 'serving' && sup.current !== first);
    assert.equal(launches, 4);
    assert.match(lines[1]!, /^worker restart failed: exit code 2 before it was ready\. Next try in 0\.10 s \(restart 2\)\.$/);
    assert.match(lines[2]!, /^worker restart failed: .* Next try in 0\.20 s \(restart 3\)\.$/);
    assert.match(lines[3]!, /^worker restarted .* after restart 3\.$/);
  } finally {
    await sup.stop();
  }
});

test('stop() during the back-off cancels the restart', async () => {
  const lines: string[] = [];
  let launches = 0;
  const sup = new Supervisor('worker', async () => (launches++, sleeper()), (l) => lines.push(l), { ...FAST, initialMs: 300 });
  await sup.start();
  sup.current!.process.kill('SIGKILL');
  await until('crash seen', () => sup.state === 'restarting');
  await sup.stop();
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(launches, 1);
  assert.equal(sup.state, 'stopped');
});
