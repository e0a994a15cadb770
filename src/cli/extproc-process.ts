import path from 'node:path';

/**
 * V8 flags the ext_proc service runs with, everywhere it is started (npm start, the tests, the
 * benchmark, the Dockerfile's CMD).
 *
 * Left to itself V8 sizes the heap from the machine's memory: on a 24 GB host it let the heap
 * grow to ~175 MB of RSS under load before collecting, for ~20 MB of live data. A 512 MB
 * old-space limit makes it size the young generation and its growth steps accordingly: peak
 * RSS under the benchmark's heaviest load fell to ~95–120 MB (bench/README numbers), with no
 * measurable throughput cost. 512 MB still leaves room for dozens of concurrent prompts at the
 * 16 MiB body limit; raise it (NODE_OPTIONS or the Dockerfile) if you allow more.
 */
export const EXTPROC_NODE_FLAGS: readonly string[] = ['--max-old-space-size=512'];

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
