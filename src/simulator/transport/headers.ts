import type { IncomingHttpHeaders } from 'node:http';

/** Lower-case header map without HTTP/2 pseudo-headers (`:authority` becomes `host` if absent). */
export function flattenHeaders(h: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key in h) {
    const v = h[key];
    if (v === undefined) continue;
    if (key.charCodeAt(0) === 58 /* ':' */) {
      if (key === ':authority' && h['host'] === undefined) out['host'] = String(v);
      continue;
    }
    out[key] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}
