import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * `npm test`: typecheck, unit tests, then end-to-end tests (real Envoy, found or installed
 * the same way `npm start` does it). `npm test -- unit` or `-- e2e` runs one part.
 */
const root = path.resolve(import.meta.dirname, '..');
const which = process.argv[2] ?? 'all';

function find(dir: string, pred: (f: string) => boolean, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'fixtures' && name !== 'node_modules') find(p, pred, out);
    } else if (pred(p)) out.push(p);
  }
  return out.sort();
}

const testDir = path.join(root, 'test');
const unit = find(testDir, (f) => f.endsWith('.test.ts') && !f.endsWith('.e2e.test.ts'));
const e2e = find(testDir, (f) => f.endsWith('.e2e.test.ts'));

function run(cmd: string, args: string[]): number {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root });
  return r.status ?? 1;
}

let failed = false;
if (which === 'all' || which === 'unit') {
  failed ||= run('npx', ['tsc', '--noEmit', '-p', '.']) !== 0;
  if (!failed) failed ||= run(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...unit]) !== 0;
}
if (!failed && (which === 'all' || which === 'e2e')) {
  if (which === 'all') {
    // Install Envoy before the e2e files start, so no test's timeout pays for the download.
    const { findOrInstallEnvoy } = await import('../src/cli/envoy-binary.ts');
    findOrInstallEnvoy();
  }
  failed ||= run(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...e2e]) !== 0;
}
process.exit(failed ? 1 : 0);
