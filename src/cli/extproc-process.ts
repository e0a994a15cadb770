import path from 'node:path';

/**
 * V8 flags the ext_proc service runs with, everywhere it is started (npm start, the tests, the
 * benchmark, the Dockerfile's CMD): none, by measurement.
 *
 * Left to itself V8 sizes the heap from the machine's memory; on the 24 GB benchmark host the
 * service's RSS peaks at ~185 MB under saturation for ~20 MB of live data. `--max-old-space-size=512`
 * (with or without `--max-semi-space-size=8`) caps the peak at ~107–122 MB, but V8 then collects
 * so much more often that the service spends 25–40 % more CPU per request and the gateway loses
 * 10–16 % of its throughput (pairs of benchmark runs, docs/benchmark.md). Throughput wins by
 * default; a memory-tight deployment sets those flags in NODE_OPTIONS (README, Operations).
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
