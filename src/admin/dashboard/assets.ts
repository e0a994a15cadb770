import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** The dashboard's files: the page (plain HTML, CSS and browser JS; no build step) and Chart.js from node_modules. */
export interface Asset {
  readonly body: Buffer;
  readonly contentType: string;
}

/** The page's folder: beside this file under tsx, the sources' copy when run from dist/ (`npm run build` compiles only .ts). */
function pageDir(): string {
  const here = path.join(import.meta.dirname, 'page');
  return existsSync(here) ? here : path.resolve(import.meta.dirname, '../../../src/admin/dashboard/page');
}

/** Chart.js's UMD bundle beside its CommonJS entry (the package's `exports` map names only the entries). */
function chartJsUmd(): string {
  return path.join(path.dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.js');
}

/** URL path under /admin/dashboard → file; anything else is 404 (no path from the URL reaches the file system). */
function files(): Record<string, { file: string; contentType: string }> {
  const dir = pageDir();
  return {
    '': { file: path.join(dir, 'index.html'), contentType: 'text/html; charset=utf-8' },
    '/': { file: path.join(dir, 'index.html'), contentType: 'text/html; charset=utf-8' },
    '/app.js': { file: path.join(dir, 'app.js'), contentType: 'text/javascript; charset=utf-8' },
    '/style.css': { file: path.join(dir, 'style.css'), contentType: 'text/css; charset=utf-8' },
    // Chart.js's UMD bundle (defines window.Chart), served from the installed package: no CDN.
    '/chart.umd.js': { file: chartJsUmd(), contentType: 'text/javascript; charset=utf-8' },
  };
}

const FILES = files();
const cache = new Map<string, Asset>();

/** The asset at `sub` (the path after `/admin/dashboard`), read once and kept; undefined: no such asset. */
export function dashboardAsset(sub: string): Asset | undefined {
  const hit = cache.get(sub);
  if (hit) return hit;
  const entry = Object.hasOwn(FILES, sub) ? FILES[sub] : undefined;
  if (!entry) return undefined;
  const asset = { body: readFileSync(entry.file), contentType: entry.contentType };
  cache.set(sub, asset);
  return asset;
}

/**
 * Headers for every dashboard file: scripts, styles and requests only from the admin listener
 * itself (no CDN, no inline script), not framed, no referrer, no sniffing.
 */
export const DASHBOARD_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
});
