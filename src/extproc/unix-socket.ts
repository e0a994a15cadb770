import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';

/**
 * Owner and group may connect, nobody else: whoever can connect to the ext_proc socket can
 * answer for Envoy's requests, so it is as sensitive as the gateway's own port.
 */
export const SOCKET_FILE_MODE = 0o660;

/** Why a socket path cannot be taken; `code` as ListenError reports it. */
export class SocketPathError extends Error {
  override name = 'SocketPathError';
  constructor(
    message: string,
    readonly code: 'EADDRINUSE' | 'EACCES',
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
 * Makes `file` free to bind: nothing there, or a socket file nobody listens on (left by a
 * process that died), which is removed. Throws SocketPathError when a process listens on it
 * (EADDRINUSE), when the path is something other than a socket (never removed), or when the
 * socket cannot be probed (EACCES: another user's socket).
 */
export async function claimSocketPath(file: string, timeoutMs = 1000): Promise<void> {
  let st;
  try {
    st = lstatSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
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
}

/**
 * After the bind: sets SOCKET_FILE_MODE and returns the file's identity (inode and change time:
 * a file system may hand a freed inode number to the next file), so `releaseSocketPath` removes
 * this socket and never a successor's at the same path.
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
