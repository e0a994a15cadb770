import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';

/**
 * The Prometheus alert rules (ops/prometheus/alerts.yml) under the real `promtool` (Debian's
 * `prometheus` package; .ci/run installs it): the file is valid, and alerts.test.yml's input
 * series make each rule fire when it should and stay quiet when it should not (the provider
 * error rate above 5 % over 5 minutes with the volume floor, 4xx and 429s excluded, `for`,
 * recovery; breakers; latency SLAs; budgets at 80 % and 100 %; the ext_proc unreachable from
 * Envoy; Redis down; a stale price table).
 */
const DIR = path.resolve(import.meta.dirname, '../../ops/prometheus');
const INSTALL = 'apt-get install -y prometheus (Debian/Ubuntu; it ships promtool), or put promtool on PATH';

function promtool(...args: string[]): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { cwd: DIR, encoding: 'utf8', timeout: 60_000 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error(`promtool is not installed, so the alert rules cannot be checked. Install it: ${INSTALL}`);
  }
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('alert rules (promtool)', () => {
  it('promtool check rules accepts ops/prometheus/alerts.yml', () => {
    const r = promtool('check', 'rules', 'alerts.yml');
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /SUCCESS: 9 rules found/);
  });

  it('promtool test rules: every rule fires and stays quiet as alerts.test.yml expects', () => {
    const r = promtool('test', 'rules', 'alerts.test.yml');
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /SUCCESS/);
  });
});
