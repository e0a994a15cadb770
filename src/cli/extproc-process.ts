import path from 'node:path';

/**
 * V8 flags the ext_proc service runs with, everywhere it is started (npm start, the tests, the
 * benchmark, the Dockerfile's CMD).
 *
 * Left to itself V8 sizes the heap from the machine's memory: on a 24 GB host the service's RSS
 * grew to ~185 MB under the benchmark's load for ~20 MB of live data, because V8 lets the young
 * generation and the old generation's growth steps scale with the heap limit. A 512 MB old-space
 * limit and 8 MB semi-spaces keep it near 100–110 MB with no measurable CPU cost (pairs of
 * benchmark runs, docs/benchmark.md). 512 MB still leaves room for dozens of concurrent prompts
 * at the 16 MiB body limit; raise it (NODE_OPTIONS or the Dockerfile) if you allow more.
 */
export const EXTPROC_NODE_FLAGS: readonly string[] = ['--max-old-space-size=512', '--max-semi-space-size=8'];

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
