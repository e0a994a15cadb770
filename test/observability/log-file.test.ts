import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { closeLogger, createLogger } from '../../src/observability/logger.ts';
import { requestLogFile } from '../../src/observability/log-file.ts';
import { gatewayConfigSchema } from '../../src/config/schema.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'llmx-log-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('request log file (observability.requestLog.file)', () => {
  it('gets the same lines as stdout, rotated by size, keeping maxFiles rotated files (newest .1)', async () => {
    const stdout: string[] = [];
    const mem = new Writable({ write: (c, _e, cb) => void (stdout.push(String(c)), cb()) });
    const file = requestLogFile({ path: path.join(dir, 'sub', 'gateway.log'), maxBytes: 2048, maxFiles: 2 })!;
    const log = createLogger('info', mem as never, file as never);
    for (let i = 0; i < 60; i++) {
      log.info({ i, pad: 'x'.repeat(100) }, 'request');
      // Rotation happens between writes: give the stream a turn now and then.
      if (i % 5 === 4) await new Promise((r) => setTimeout(r, 5));
    }
    await closeLogger(log);
    const files = readdirSync(path.join(dir, 'sub')).sort();
    assert.deepEqual(files, ['gateway.log', 'gateway.log.1', 'gateway.log.2'], 'older rotations are deleted');
    const read = (f: string) => readFileSync(path.join(dir, 'sub', f), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { i: number });
    for (const f of files) assert.ok(readFileSync(path.join(dir, 'sub', f)).length <= 2048 + 200, `${f} near maxBytes`);
    const live = read('gateway.log');
    assert.equal(live.at(-1)!.i, 59, 'the newest line is in the live file');
    assert.ok(read('gateway.log.1').at(-1)!.i < live[0]!.i, '.1 holds the lines just before');
    assert.equal(stdout.length, 60, 'stdout still gets every line');
  });

  it('is off by default; its settings are checked', () => {
    const base = { providers: {}, models: {}, keys: [{ name: 'k', sha256: 'a'.repeat(64) }] };
    const parsed = gatewayConfigSchema.parse(base);
    assert.equal(parsed.observability.requestLog.file, undefined);
    assert.deepEqual(parsed.observability.requestLog.content, { teams: [], maxChars: 4096 });
    assert.equal(parsed.observability.spendHistory.keepDays, 35);
    assert.equal(requestLogFile(undefined), undefined);
    const withFile = gatewayConfigSchema.parse({ ...base, observability: { requestLog: { file: { path: '/var/log/gw.log' } } } });
    assert.deepEqual(withFile.observability.requestLog.file, { path: '/var/log/gw.log', maxBytes: 100 * 1024 * 1024, maxFiles: 10 });
    assert.equal(gatewayConfigSchema.safeParse({ ...base, observability: { spendHistory: { keepDays: 0 } } }).success, false);
    assert.equal(gatewayConfigSchema.safeParse({ ...base, observability: { requestLog: { file: { path: 'x', maxFiles: 0 } } } }).success, false);
  });
});
