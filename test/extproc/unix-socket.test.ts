import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { claimSocketPath, checkSocketDirectory, releaseSocketPath, secureSocketPath, SocketPathError, SOCKET_FILE_MODE } from '../../src/extproc/unix-socket.ts';

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
  assert.equal(await claimSocketPath(path.join(dir, 'none.sock')), 'free');
});

test('a stale socket file (its process died) is removed, and the caller is told so (to log it)', async () => {
  const file = path.join(dir, 'stale.sock');
  await staleSocket(file);
  assert.equal(await claimSocketPath(file), 'removed-stale');
  assert.equal(existsSync(file), false);
});

test('a missing directory or a file as the directory is refused with that reason, before any bind', async () => {
  const missing = path.join(dir, 'no-such-dir');
  await assert.rejects(claimSocketPath(path.join(missing, 'x.sock')), (err: unknown) => {
    assert.ok(err instanceof SocketPathError);
    assert.equal(err.code, 'ENOENT');
    assert.equal(err.message, `directory ${missing} does not exist`);
    return true;
  });
  const file = path.join(dir, 'plain-file');
  writeFileSync(file, '');
  await assert.rejects(claimSocketPath(path.join(file, 'x.sock')), (err: unknown) => {
    assert.ok(err instanceof SocketPathError);
    assert.equal(err.code, 'ENOTDIR');
    assert.equal(err.message, `${file} is not a directory`);
    return true;
  });
  assert.throws(() => checkSocketDirectory(path.join(missing, 'deeper', 'x.sock')), { code: 'ENOENT' });
});

test('a directory this user may not write to is refused as not writable (EACCES)', () => {
  const ro = path.join(dir, 'read-only');
  mkdirSync(ro, { mode: 0o755 });
  const file = path.join(ro, 'x.sock');
  if (process.getuid?.() !== 0) {
    chmodSync(ro, 0o555);
    assert.throws(() => checkSocketDirectory(file), (err: unknown) => {
      assert.ok(err instanceof SocketPathError);
      assert.equal(err.code, 'EACCES');
      assert.equal(err.message, `directory ${ro} is not writable by this user`);
      return true;
    });
    return;
  }
  // root may write anywhere, so the OS never refuses it: the answer the OS gives anyone else
  // (access(2) failing with EACCES, or EROFS) is what this checks, with root's own directory.
  const refuse = (code: string) => (): void => {
    throw Object.assign(new Error(`access: ${code}`), { code });
  };
  assert.throws(() => checkSocketDirectory(file, refuse('EACCES')), (err: unknown) => err instanceof SocketPathError && err.code === 'EACCES' && err.message === `directory ${ro} is not writable by this user`);
  assert.throws(() => checkSocketDirectory(file, refuse('EROFS')), (err: unknown) => err instanceof SocketPathError && err.message === `directory ${ro} is on a read-only file system`);
  assert.doesNotThrow(() => checkSocketDirectory(file));
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

test('after the bind the file is mode 0660; release removes that socket, not a successor bound after it closed', async () => {
  const file = path.join(dir, 'bound.sock');
  const srv = await listen(file);
  const id = secureSocketPath(file);
  assert.equal(lstatSync(file).mode & 0o777, SOCKET_FILE_MODE);
  assert.equal(SOCKET_FILE_MODE, 0o660);
  // Node's close unlinks the path itself; a successor then binds it and release must leave that one.
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

test("a successor bound while the first still listens loses its file when the first closes (libuv unlinks the path)", async () => {
  // Documents what the README warns of: nothing a server does after close() can prevent this,
  // so one ext_proc per socket path, and a live socket is never deleted.
  const file = path.join(dir, 'shared.sock');
  const first = await listen(file);
  unlinkSync(file); // someone removes the live socket...
  const second = await listen(file); // ...and a second server binds the same path
  try {
    await new Promise((resolve) => first.close(resolve));
    assert.equal(existsSync(file), false, "the first server's close removed the second's file");
  } finally {
    await new Promise((resolve) => second.close(resolve));
  }
});
