/**
 * What the caller's `cache-control` request header allows (RFC 9111 §5.2.1), for a gateway
 * that is a shared cache of model answers:
 * - `no-store`: the answer is neither read from nor written to the cache;
 * - `no-cache` (or `max-age=0`, which no stored answer can satisfy): not read, but the fresh
 *   answer is written, so it refreshes the entry (LiteLLM's and Portkey's "force refresh");
 * - anything else (other directives, `max-age=N>0`, no header): read and write.
 * Directive names are case-insensitive and comma-separated; arguments (`no-cache="x"`) are
 * ignored, as a request directive has none that matter here.
 */
export interface CallerCacheControl {
  read: boolean;
  write: boolean;
}

const READ_WRITE: CallerCacheControl = Object.freeze({ read: true, write: true });

/** `header`: the raw value (several headers joined with `,`), or undefined when absent. */
export function parseCacheControl(header: string | undefined): CallerCacheControl {
  if (header === undefined || header === '') return READ_WRITE;
  let read = true;
  let write = true;
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    const name = (eq === -1 ? part : part.slice(0, eq)).trim().toLowerCase();
    const arg = eq === -1 ? undefined : part.slice(eq + 1).trim().replace(/^"|"$/g, '');
    if (name === 'no-store') {
      read = false;
      write = false;
    } else if (name === 'no-cache' || (name === 'max-age' && arg === '0')) {
      read = false;
    }
  }
  return read && write ? READ_WRITE : { read, write };
}
