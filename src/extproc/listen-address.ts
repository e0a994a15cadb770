import path from 'node:path';
import { splitHostPort } from '../admin/config.ts';

/**
 * Most bytes in a Unix socket path: `sockaddr_un.sun_path` is 108 bytes on Linux, one of them
 * the terminating NUL (unix(7)); macOS has 104. A longer path cannot be bound at all.
 */
export const SUN_PATH_MAX_BYTES = 107;

/** Where the ext_proc gRPC server listens: a TCP `host:port` or a Unix domain socket file. */
export type ListenAddress =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'unix'; /** absolute path of the socket file */ readonly path: string };

/** A listen address that cannot be used, with the setting it came from and what to write instead. */
export class ListenAddressError extends Error {
  override name = 'ListenAddressError';
}

const EXAMPLES = 'use host:port (e.g. 127.0.0.1:50051) or unix:/absolute/path.sock';

/**
 * Parses `host:port` (IPv6 in brackets, port 0 = any free port) or `unix:/abs/path.sock`
 * (also gRPC's `unix:///abs/path.sock`). `setting` names where the text came from, for the error.
 * Throws ListenAddressError: another scheme, a relative socket path, a path longer than
 * SUN_PATH_MAX_BYTES bytes (UTF-8), a NUL in it, or text that is neither form.
 */
export function parseListenAddress(text: string, setting = '--listen'): ListenAddress {
  const bad = (why: string): ListenAddressError => new ListenAddressError(`${setting} "${text}": ${why}`);
  if (text.startsWith('unix:')) {
    let file = text.slice('unix:'.length);
    // gRPC's URI form: unix:///abs (empty authority). unix://host/… names no file.
    if (file.startsWith('//')) {
      if (!file.startsWith('///')) throw bad(`a socket path needs no host; ${EXAMPLES}`);
      file = file.slice(2);
    }
    return { kind: 'unix', path: checkSocketPath(file, bad, EXAMPLES) };
  }
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):(?!\d+$)/.exec(text);
  if (scheme && !text.startsWith('[')) throw bad(`scheme "${scheme[1]}:" is not supported; ${EXAMPLES}`);
  const hp = splitHostPort(text);
  if (!hp) throw bad(`not an address; ${EXAMPLES}`);
  return { kind: 'tcp', host: hp.host, port: hp.port };
}

/** What --extproc-socket takes (a path, never `unix:` or host:port), for its errors. */
const PATH_EXAMPLE = 'give an absolute path, e.g. /tmp/llmx-extproc.sock';

/**
 * Parses a bare socket path as `npm start --extproc-socket PATH` takes it; returns it normalized.
 * Throws ListenAddressError naming `setting`, with a hint in the option's own terms (a path, not
 * host:port or unix:): the same rules as parseListenAddress's `unix:` form.
 */
export function parseSocketPath(text: string, setting = '--extproc-socket'): string {
  const bad = (why: string): ListenAddressError => new ListenAddressError(`${setting} "${text}": ${why}`);
  if (text.startsWith('unix:')) throw bad(`${setting} takes the path alone, without unix:; ${PATH_EXAMPLE}`);
  return checkSocketPath(text, bad, PATH_EXAMPLE);
}

/** The socket path rules (unix(7)); returns the normalized path or throws `bad(why)`. */
function checkSocketPath(file: string, bad: (why: string) => ListenAddressError, hint: string): string {
  if (file === '') throw bad(`no socket path; ${hint}`);
  if (!path.isAbsolute(file)) throw bad(`the socket path must be absolute (Envoy and the ext_proc may run in different directories); ${hint}`);
  if (file.includes('\0')) throw bad('the socket path holds a NUL byte');
  if (file.endsWith('/')) throw bad('the socket path names a directory, not a file');
  const bytes = Buffer.byteLength(file);
  if (bytes > SUN_PATH_MAX_BYTES) throw bad(`the socket path is ${bytes} bytes, over the ${SUN_PATH_MAX_BYTES} a Unix socket address holds (sun_path); choose a shorter path, e.g. under /run or /tmp`);
  return path.normalize(file);
}

/** The address as grpc-js binds it and Envoy's google_grpc `target_uri` names it. */
export function grpcAddress(addr: ListenAddress): string {
  if (addr.kind === 'unix') return `unix:${addr.path}`;
  return addr.host.includes(':') ? `[${addr.host}]:${addr.port}` : `${addr.host}:${addr.port}`;
}
