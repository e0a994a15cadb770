import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { describe, test } from 'node:test';
import { authHeaders, hello, startTestStack, type TestStack } from '../support/e2e.ts';
import { readCounts, summaryDir } from '../support/leak-scan.ts';

/**
 * Issue 12, "a leak scan over every response and log line of the test suite". Every stack
 * started with startTestStack records the responses its listeners gave and scans them and its
 * log files in dispose() (scope: test/support/leak-scan.ts). This file runs last (sorted order,
 * one file at a time): it first drives the replies most likely to carry internals (wrong keys the
 * caller sent, provider errors of each wire format, resets, an unreachable provider), then
 * reports and checks the totals of the whole run.
 */

async function drive(gw: TestStack): Promise<void> {
  const post = (body: unknown, headers: Record<string, string> = authHeaders(gw)): Promise<Response> =>
    gw.raw('/v1/chat/completions', { method: 'POST', headers, body: JSON.stringify(body) });
  const replies: Response[] = [];
  // Credentials of the caller's own, wrong: never echoed back.
  replies.push(await post({ model: 'gpt-4o-mini', messages: hello }, { authorization: 'Bearer sk-proj-callerWrongKey0123456789', 'content-type': 'application/json' }));
  replies.push(await post({ model: 'gpt-4o-mini', messages: hello }, { 'x-api-key': 'sk-ant-api03-callerWrongKey0123', 'content-type': 'application/json' }));
  replies.push(await gw.raw('/v1/models?key=AIzaCallerWrongKey0123456789'));
  replies.push(await post({ model: 'no-such-model', messages: hello }));
  replies.push(await gw.raw('/v1/chat/completions', { method: 'POST', headers: authHeaders(gw), body: '{"model":' }));
  // Each wire format's own error bodies and resets, stream and not.
  for (const model of ['gpt-4o-mini', 'claude-sonnet-4-5', 'gemini-2.5-flash']) {
    for (const stream of [false, true]) {
      for (const fault of [{ status: 500 }, { status: 400 }, { status: 401 }, { resetBeforeHeaders: true }, ...(stream ? [{ resetAfterEvents: 2 }, { errorEventAfterEvents: 2 }] : [{ resetAfterBytes: 10 }])]) {
        for (const sim of Object.values(gw.sims)) sim.reset();
        // Every target of the model fails the same way, so the caller sees the error.
        for (const sim of Object.values(gw.sims)) sim.setDefaultFault(fault);
        replies.push(await post({ model, messages: hello, stream }));
      }
    }
  }
  for (const sim of Object.values(gw.sims)) sim.reset();
  for (const r of replies) await r.text().catch(() => '');
  const s = await gw.client({ tls: true }).chat.completions.create({ model: 'gpt-4o-mini', messages: hello, stream: true });
  for await (const chunk of s) void chunk;
  assert.ok(replies.every((r) => r.status >= 200), 'every request had a reply');
}

describe('leak scan over the whole e2e suite', () => {
  test('replies most likely to carry internals carry none (keys, hosts, headers, stacks)', async () => {
    const gw = await startTestStack();
    try {
      await drive(gw);
    } finally {
      await gw.dispose(); // scans; throws on a leak
    }
  });

  test('an unreachable provider: Envoy’s own reply names no internal host or port', async () => {
    const gw = await startTestStack({ simulators: false });
    try {
      const res = await gw.raw('/v1/chat/completions', { method: 'POST', headers: authHeaders(gw), body: JSON.stringify({ model: 'gpt-4o-mini', messages: hello }) });
      assert.ok(res.status >= 500);
      await res.text();
    } finally {
      await gw.dispose();
    }
  });

  test('report: every stack of this run was scanned and found clean', (t) => {
    const counts = readCounts();
    try {
      assert.ok(counts.length >= 2, 'this file’s own stacks reported');
      const files = new Set(counts.map((c) => c.file));
      const sum = (k: 'responses' | 'responseBytes' | 'logFiles' | 'logLines' | 'leaks'): number => counts.reduce((n, c) => n + c[k], 0);
      t.diagnostic(
        `leak scan: ${counts.length} stacks in ${files.size} files; ${sum('responses')} responses (${sum('responseBytes')} body bytes), ` +
          `${sum('logLines')} log lines in ${sum('logFiles')} log files; ${sum('leaks')} leaks`,
      );
      for (const f of [...files].sort()) {
        const mine = counts.filter((c) => c.file === f);
        t.diagnostic(`  ${f}: ${mine.length} stacks, ${mine.reduce((n, c) => n + c.responses, 0)} responses, ${mine.reduce((n, c) => n + c.logLines, 0)} log lines, ${mine.reduce((n, c) => n + c.leaks, 0)} leaks`);
      }
      assert.ok(sum('responses') > 0 && sum('logLines') > 0, 'the scan saw something');
      assert.equal(sum('leaks'), 0);
    } finally {
      rmSync(summaryDir(), { recursive: true, force: true });
    }
  });
});
