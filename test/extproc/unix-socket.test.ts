import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { claimSocketPath, releaseSocketPath, secureSocketPath, SocketPathError, SOCKET_FILE_MODE } from '../../src/extproc/unix-socket.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'llmx-sock-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const listen = (file: string): Promise<Server> =>
  new Promise((resolve, reject) => {
    const srv = createServer((c) => c.destroy());
    srv.once('error', reject).listen(file, () => resolve(srv));
  });

/** A socket file whose process died without removing it (SIGKILL). */
async function staleSocket(file: string): Promise<void> {
  const child = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(file)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  assert.ok(lstatSync(file).isSocket(), 'the dead process left its socket file');
}

test('nothing at the path: free to bind', async () => {
  await claimSocketPath(path.join(dir, 'none.sock'));
});

test('a stale socket file (its process died) is removed', async () => {
  const file = path.join(dir, 'stale.sock');
  await staleSocket(file);
  await claimSocketPath(file);
  assert.equal(existsSync(file), false);
});

test('a socket a process listens on is refused (EADDRINUSE) and left in place', async () => {
  const file = path.join(dir, 'live.sock');
  const srv = await listen(file);
  try {
    await assert.rejects(claimSocketPath(file), (err: unknown) => {
      assert.ok(err instanceof SocketPathError);
      assert.equal(err.code, 'EADDRINUSE');
      assert.match(err.message, /another process is listening on this socket/);
      return true;
    });
    assert.ok(lstatSync(file).isSocket());
  } finally {
    await new Promise((resolve) => srv.close(resolve));
  }
});

test('a path that is not a socket is never removed', async () => {
  const file = path.join(dir, 'data.txt');
  writeFileSync(file, 'keep me');
  await assert.rejects(claimSocketPath(file), /exists and is not a socket; it is left alone/);
  assert.equal(lstatSync(file).isFile(), true);
});

test('after the bind the file is mode 0660; release removes that socket, not a successor at the same path', async () => {
  const file = path.join(dir, 'bound.sock');
  const srv = await listen(file);
  const id = secureSocketPath(file);
  assert.equal(lstatSync(file).mode & 0o777, SOCKET_FILE_MODE);
  assert.equal(SOCKET_FILE_MODE, 0o660);
  // Node's close removes the file too; a successor then binds the same path.
  await new Promise((resolve) => srv.close(resolve));
  const next = await listen(file);
  try {
    releaseSocketPath(file, id);
    assert.ok(lstatSync(file).isSocket(), "a successor's socket stays");
    releaseSocketPath(file, secureSocketPath(file));
    assert.equal(existsSync(file), false);
    releaseSocketPath(file, id); // already gone: fine
  } finally {
    await new Promise((resolve) => next.close(resolve));
  }
});
