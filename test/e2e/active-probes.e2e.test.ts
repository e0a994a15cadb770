import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hello, startTestStack, type TestStack } from '../support/e2e.ts';

/**
 * Active probes (issue 9, item 7) through the real Envoy: with `routing.health.probes` on a
 * short interval, idle targets get one cheap request each through the gateway's own listener, so
 * their health is measured without any caller's traffic; a target made slow moves down the
 * latency order with no caller request to it; probes touch no key's rate limits, carry no key
 * in the request log, and never reach a provider with the gateway's probe headers.
 */
const CONFIG = `
server:
  admin: { listen: 127.0.0.1:0, fromEnv: GATEWAY_ADMIN_KEY }
providers:
  openai-primary: { dialect: openai, apiKeyEnv: SIM_OPENAI_PRIMARY_KEY }
  openai-backup: { dialect: openai, apiKeyEnv: SIM_OPENAI_BACKUP_KEY }
  anthropic: { dialect: anthropic, apiKeyEnv: SIM_ANTHROPIC_KEY }
routing:
  health:
    # Recent latency decays fast, so the probes' newest samples decide the order within seconds.
    latencyHalfLifeMs: 500
    probes: { intervalMs: 1000, maxTokens: 2, prompt: "ping" }
models:
  idle-pair:
    targets:
      - { provider: openai-primary, model: gpt-4o-mini }
      - { provider: openai-backup, model: gpt-4o-mini }
    routing: { strategy: latency, tolerance: 0.2 }
  claude:
    targets: [{ provider: anthropic, model: claude-sonnet-4-5 }]
keys:
  - { name: demo, team: demo, fromEnv: GATEWAY_DEMO_KEY }
rateLimits:
  keys:
    demo: { requestsPerMinute: 1000 }
`;

interface ExplainView {
  plan: string[];
  explanation: { strategy: string; candidates: Array<{ target: string; score: number | null }> };
}

const PRIMARY = 'openai-primary/gpt-4o-mini';
const BACKUP = 'openai-backup/gpt-4o-mini';

let gw: TestStack;
let dir: string;
before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'llmx-probes-'));
  const configFile = path.join(dir, 'gateway.yaml');
  writeFileSync(configFile, CONFIG);
  gw = await startTestStack({ configFile });
  // From the start: the primary answers slowly, the backup at once.
  gw.sims['openai-primary']!.setDefaultFault({ latencyMs: 300 });
});
after(async () => {
  await gw?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The admin API's routing explanation for `idle-pair`: nothing is sent upstream. */
async function explain(): Promise<ExplainView> {
  const res = await fetch(`${gw.adminApiUrl}/admin/routing/explain`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gw.adminApiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ request: { model: 'idle-pair', messages: hello } }),
  });
  assert.equal(res.status, 200);
  return (await res.json()) as ExplainView;
}

/** Polls `check` every 200 ms until it returns a value, up to `ms`. */
async function until<T>(what: string, ms: number, check: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const scores = (e: ExplainView): Record<string, number | null> => Object.fromEntries(e.explanation.candidates.map((c) => [c.target, c.score]));

describe('active probes through the real Envoy', () => {
  test('idle targets are probed through Envoy and become measured; the provider sees a plain, cheap request', async () => {
    const before = await explain();
    assert.deepEqual(scores(before), { [PRIMARY]: null, [BACKUP]: null }, 'unmeasured at start: no caller traffic, no probe yet');
    const measured = await until('both targets measured by probes', 15_000, async () => {
      const e = await explain();
      const s = scores(e);
      return s[PRIMARY] !== null && s[BACKUP] !== null ? e : undefined;
    });
    assert.equal(measured.explanation.strategy, 'latency');
    assert.deepEqual(measured.plan, [BACKUP, PRIMARY], 'the backup answers at once, the primary after 300 ms');
    assert.ok(scores(measured)[PRIMARY]! >= 250, `the primary's probes measured its delay (${scores(measured)[PRIMARY]} ms)`);

    // What reached the provider: the configured probe, without the gateway's probe headers.
    const got = gw.sims['openai-backup']!.requests.at(-1)!;
    assert.deepEqual((got.body as { messages: unknown }).messages, [{ role: 'user', content: 'ping' }]);
    assert.equal((got.body as { max_tokens?: number; max_completion_tokens?: number }).max_tokens ?? (got.body as { max_completion_tokens?: number }).max_completion_tokens, 2);
    for (const name of Object.keys(got.headers)) assert.ok(!name.startsWith('x-llmx-probe'), `${name} reached the provider`);
    assert.ok(!Object.values(got.headers).some((v) => v.includes(PRIMARY) || v.includes(BACKUP)), 'no probe header value either');
    assert.match(got.headers['authorization'] ?? '', /^Bearer sim-openai-backup-/, "through Envoy's cluster with the provider's key, as any request");

    const probesOk = await gw.metric('gateway_health_probes_total', { target: BACKUP, outcome: 'ok' });
    assert.ok(probesOk >= 1, 'counted');
  });

  test('a target made slow moves down the latency order with no caller traffic to it', async () => {
    gw.sims['openai-primary']!.setDefaultFault(undefined);
    gw.sims['openai-backup']!.setDefaultFault({ latencyMs: 300 });
    const servedBefore = gw.logLines().filter((l) => l['msg'] === 'request' && l['probe'] !== true).length;
    const flipped = await until('the order flips to primary first', 20_000, async () => {
      const e = await explain();
      const s = scores(e);
      return e.plan[0] === PRIMARY && s[BACKUP]! > 1.2 * s[PRIMARY]! ? e : undefined;
    });
    assert.deepEqual(flipped.plan, [PRIMARY, BACKUP]);
    const callerLines = gw.logLines().filter((l) => l['msg'] === 'request' && l['probe'] !== true);
    assert.equal(callerLines.length, servedBefore, 'no caller request was served meanwhile: only probes measured the change');
  });

  test("probes touch no key's limits or request log, and count in no caller metric", async () => {
    // Probes of every target have run by now (the previous tests waited for them).
    const probeLines = gw.logLines().filter((l) => l['msg'] === 'request' && l['probe'] === true);
    assert.ok(probeLines.length >= 4, `probe lines: ${probeLines.length}`);
    for (const l of probeLines) {
      assert.equal(l['key_name'], undefined, 'no key on a probe line');
      assert.equal(l['team'], undefined);
      assert.ok(['idle-pair', 'claude'].includes(String(l['model'])));
      assert.equal(l['attempts'], 1, 'pinned to its target: never a failover');
    }
    assert.equal(await gw.metric('gateway_requests_total', {}), 0, 'no caller request yet, whatever the probes did');

    // The demo key's first request: its rate-limit window has only this request in it.
    const res = await gw.raw('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.demoKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude', messages: hello, max_tokens: 5 }),
    });
    assert.equal(res.status, 200);
    await res.text();
    assert.equal(res.headers.get('x-ratelimit-limit-requests'), '1000');
    assert.equal(res.headers.get('x-ratelimit-remaining-requests'), '999', 'the probes reserved nothing in the key\'s window');
    const line = await gw.requestLog(res.headers.get('x-request-id'));
    assert.equal(line['key_name'], 'demo');
    assert.equal(line['probe'], undefined);
    assert.equal(await gw.metric('gateway_requests_total', {}), 1);
  });

  test('a caller cannot pass as a probe: the probe headers without the secret are a plain request without a key', async () => {
    const res = await gw.raw('/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-llmx-probe': 'guess', 'x-llmx-probe-target': PRIMARY },
      body: JSON.stringify({ model: 'idle-pair', messages: hello }),
    });
    assert.equal(res.status, 401);
    await res.text();
  });
});
