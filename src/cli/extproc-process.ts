import path from 'node:path';

/**
 * V8 flags the ext_proc service runs with, everywhere it is started (npm start, the tests, the
 * benchmark, the Dockerfile's CMD): none, by measurement (docs/benchmark.md, *Memory*).
 *
 * Under saturation (policies on, 64 connections, 2-core host, 24 GB) the service allocates
 * ~110 KB per request and promotes ~10 KB of it, so its old space fills with garbage that dies
 * there; V8, with a 4.3 GB heap limit, lets the old space grow to ~3× the ~35 MB that survives
 * a mark-compact before marking again: RSS peak 232–253 MB for ~35 MB live. Measured options:
 * - `--heap-growing-percent=100` (growth factor 2×, not a cap): peak 172–182 MB, twice the
 *   mark-compacts, but +9 % ext_proc CPU per request on a quiet machine (pairs +67, +38, +30,
 *   −4 µs on ~365 µs); 50 %: peak ~163 MB for about the same price.
 * - `--max-old-space-size=256`: peak ~155 MB, 5.5–9× the mark-compacts, and a cap a few 16 MiB
 *   bodies in flight can hit; 512 MB: 25–40 % more CPU per request.
 * - `--max-semi-space-size=1…8`: 2–17× the scavenges, 2.5–3.5× their GC time, peak still ~200 MB.
 * Throughput wins by default. A memory-tight deployment adds one: the caps in NODE_OPTIONS,
 * `--heap-growing-percent` (the cheapest per MB saved) on node's command line, since NODE_OPTIONS
 * refuses it (README, Operations).
 */
export const EXTPROC_NODE_FLAGS: readonly string[] = [];

const PROJECT_ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * Node arguments that start the ext_proc service: from the TypeScript sources through tsx (npm
 * start, tests: nothing to build), or compiled (`npm run build`; the benchmark and the image
 * run this, ~30 MB less memory than tsx).
 */
export function extprocNodeArgs(from: 'source' | 'compiled', extraFlags: readonly string[] = EXTPROC_NODE_FLAGS): string[] {
  return from === 'source'
    ? [...extraFlags, '--import', 'tsx', path.join(PROJECT_ROOT, 'src/main.ts')]
    : [...extraFlags, path.join(PROJECT_ROOT, 'dist/main.js')];
}
