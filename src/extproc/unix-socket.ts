import { accessSync, chmodSync, constants, lstatSync, statSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';

/**
 * Owner and group may connect, nobody else: whoever can connect to the ext_proc socket can
 * answer for Envoy's requests, so it is as sensitive as the gateway's own port.
 */
export const SOCKET_FILE_MODE = 0o660;

/** EADDRINUSE: held; EACCES: not ours; ENOENT/ENOTDIR: its directory is missing or not a directory. */
export type SocketPathCode = 'EADDRINUSE' | 'EACCES' | 'ENOENT' | 'ENOTDIR';

/** Why a socket path cannot be taken; `code` as ListenError reports it. */
export class SocketPathError extends Error {
  override name = 'SocketPathError';
  constructor(
    message: string,
    readonly code: SocketPathCode,
  ) {
    super(message);
  }
}

/** Whether something accepts connections on the socket file (ECONNREFUSED: a stale file). */
function probe(file: string, timeoutMs: number): Promise<'listening' | 'stale'> {
  return new Promise((resolve, reject) => {
    const sock = connect({ path: file });
    const done = (r: 'listening' | 'stale' | Error): void => {
      clearTimeout(timer);
      sock.destroy();
      if (r instanceof Error) reject(r);
      else resolve(r);
    };
    // A listener too busy to accept within the timeout is still a listener.
    const timer = setTimeout(() => done('listening'), timeoutMs);
    sock.once('connect', () => done('listening'));
    sock.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED' ? 'stale' : err));
  });
}

/**
 * Checks the socket file's directory before the bind: libuv reports a missing directory as
 * EACCES ("permission denied") and grpc-js logs "No address added" first, so say the real reason.
 * Throws SocketPathError: ENOENT (no such directory), ENOTDIR (not a directory), EACCES (not
 * writable or searchable by this user, or a read-only file system).
 */
export function checkSocketDirectory(file: string, access: (dir: string, mode: number) => void = accessSync): void {
  const dir = path.dirname(file);
  try {
    if (!statSync(dir).isDirectory()) throw new SocketPathError(`${dir} is not a directory`, 'ENOTDIR');
  } catch (err) {
    if (err instanceof SocketPathError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SocketPathError(`directory ${dir} does not exist`, 'ENOENT');
    if (code === 'ENOTDIR') throw new SocketPathError(`${dir} is not a directory`, 'ENOTDIR');
    if (code === 'EACCES') throw new SocketPathError(`directory ${dir} is not reachable by this user (a parent is not searchable)`, 'EACCES');
    throw err;
  }
  try {
    // W: create the socket file; X: reach it.
    access(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'EROFS' ? 'is on a read-only file system' : 'is not writable by this user';
    throw new SocketPathError(`directory ${dir} ${why}`, 'EACCES');
  }
}

/**
 * Makes `file` free to bind: its directory exists and is writable (checkSocketDirectory), and
 * nothing is at the path or a socket file nobody listens on (left by a process that died), which
 * is removed. Resolves 'removed-stale' when it removed one (the caller logs it), else 'free'.
 * Throws SocketPathError when a process listens on it (EADDRINUSE), when the path is something
 * other than a socket (never removed), when the socket cannot be probed (EACCES: another user's
 * socket), or for the directory (checkSocketDirectory).
 */
export async function claimSocketPath(file: string, timeoutMs = 1000): Promise<'free' | 'removed-stale'> {
  checkSocketDirectory(file);
  let st;
  try {
    st = lstatSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'free';
    throw err;
  }
  if (!st.isSocket()) throw new SocketPathError('the path exists and is not a socket; it is left alone', 'EADDRINUSE');
  let state: 'listening' | 'stale';
  try {
    state = await probe(file, timeoutMs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') throw new SocketPathError('a socket file is there that this user may not connect to', 'EACCES');
    throw err;
  }
  if (state === 'listening') throw new SocketPathError('another process is listening on this socket (is another ext_proc running?)', 'EADDRINUSE');
  unlinkSync(file);
  return 'removed-stale';
}

/**
 * After the bind: sets SOCKET_FILE_MODE and returns the file's identity (inode and change time:
 * a file system may hand a freed inode number to the next file), so `releaseSocketPath` leaves
 * a successor's socket alone. It cannot protect a successor that bound the path while this
 * server still listened: Node/libuv unlinks the path when the server closes, whatever is there.
 */
export function secureSocketPath(file: string): string {
  chmodSync(file, SOCKET_FILE_MODE);
  return identity(file);
}

function identity(file: string): string {
  const st = lstatSync(file, { bigint: true });
  return `${st.ino}:${st.ctimeNs}`;
}

/** Removes the socket file if it is still the one bound (`id` from secureSocketPath); a missing file is fine. */
export function releaseSocketPath(file: string, id: string): void {
  try {
    if (identity(file) === id) unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
