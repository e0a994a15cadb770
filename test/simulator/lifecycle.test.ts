import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { startSimProvider } from '../../src/simulator/index.ts';
import { post } from './helpers/client.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

describe('close()', () => {
  it('ends open streams and connections so the process exits on its own', () => {
    const child = spawnSync(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'helpers/close-exits.ts')], {
      cwd: ROOT,
      timeout: 20_000,
      encoding: 'utf8',
    });
    assert.equal(child.signal, null, `child hung (killed by ${String(child.signal)}): ${child.stderr}`);
    assert.equal(child.status, 0, child.stderr);
    const report = JSON.parse(child.stdout.trim()) as { closeMs: number; outcomes: string[] };
    assert.ok(report.closeMs < 5_000);
    assert.deepEqual(report.outcomes, ['reset', 'failed', 'reset']);
  });

  it('releases the listening socket and is idempotent', async () => {
    const count = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;
    const before = count();
    const sim = await startSimProvider({ format: 'openai' });
    assert.equal(count(), before + 1);
    await post(`${sim.url}/v1/chat/completions`, { model: 'm', messages: [{ role: 'user', content: 'x' }] });
    await Promise.all([sim.close(), sim.close()]);
    // libuv reports the handle until its close callback has run, a moment after 'close'.
    for (let i = 0; i < 100 && count() > before; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(count(), before);
    await assert.rejects(fetch(`${sim.url}/v1/chat/completions`, { method: 'POST' }));
  });
});

describe('request recording', () => {
  it('records method, path, headers and parsed body (raw text when not JSON)', async () => {
    const sim = await startSimProvider({ format: 'gemini', basePath: '/custom/' });
    try {
      const t0 = Date.now();
      await post(`${sim.url}/custom/models/g:streamGenerateContent?alt=sse`, { contents: [{ parts: [{ text: 'x' }] }] }, { 'X-Trace': 'abc' });
      await post(`${sim.url}/custom/models/g:generateContent`, 'not json');
      assert.equal(sim.requests.length, 2);
      const [first, second] = sim.requests;
      assert.equal(first?.method, 'POST');
      assert.equal(first?.path, '/custom/models/g:streamGenerateContent?alt=sse');
      assert.equal(first?.headers['x-trace'], 'abc');
      assert.deepEqual(first?.body, { contents: [{ parts: [{ text: 'x' }] }] });
      assert.ok((first?.at ?? 0) >= t0);
      assert.equal(second?.body, 'not json');
    } finally {
      await sim.close();
    }
  });

  it('keeps only the last 1000, or nothing when disabled', async () => {
    const sim = await startSimProvider({ format: 'openai' });
    const off = await startSimProvider({ format: 'openai', recordRequests: false });
    try {
      const send = (n: number): Promise<unknown> => post(`${sim.url}/v1/chat/completions`, { model: `m${n}`, messages: [{ role: 'user', content: 'x' }] });
      for (let i = 0; i < 1005; i += 67) await Promise.all(Array.from({ length: Math.min(67, 1005 - i) }, (_, k) => send(i + k)));
      assert.equal(sim.requests.length, 1000);
      await post(`${off.url}/v1/chat/completions`, { model: 'm', messages: [{ role: 'user', content: 'x' }] });
      assert.equal(off.requests.length, 0);
    } finally {
      await Promise.all([sim.close(), off.close()]);
    }
  });
});

describe('CLI', () => {
  it('prints its URL, serves with the CLI faults, and exits on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/simulator/main.ts', '--format', 'anthropic', '--port', '0', '--chunks', '3', '--api-key', 'k'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          if (out.includes('\n')) resolve(out.trim());
        });
        child.once('exit', () => reject(new Error('CLI exited before printing its URL')));
      });
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const r = await post(`${url}/v1/messages`, { model: 'c', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'hi' }] }, { 'x-api-key': 'k', 'anthropic-version': '2023-06-01' });
      assert.equal(r.status, 200);
      assert.equal(r.text.match(/text_delta/g)?.length, 3);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0);
  });

  it('rejects a bad format with a usage message', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/simulator/main.ts', '--format', 'cohere'], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /usage:/);
  });
});
