import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import type OpenAI from 'openai';
import { hello, SIM_PROVIDERS_YAML, startTestStack, type TestStack } from '../support/e2e.ts';

/**
 * Target health fed by real traffic, through the real Envoy (issue 9, items 3 and 7): answers
 * and their latency from the request path, failed attempts from Envoy's router upstream_log
 * (envoy.yaml, log_name llm_upstream_attempts). A primary that fails, is slow, or is rate
 * limited loses its traffic to the backup, visibly (breaker state in /metrics, a warn line), and
 * gets it back after a half-open probe succeeds or its cool-down ends.
 *
 * Each scenario has its own model whose targets are the two OpenAI simulators under their own
 * provider model name, so each has its own breakers (health is per provider and model).
 * Short periods in the test config keep it to seconds.
 */
const OPEN_MS = 2_000;
const CONFIG = `
${SIM_PROVIDERS_YAML}models:
  health-errors:
    pricing: { free: true }
    cache: off
    targets: [{ provider: openai-primary, model: sim-errors }, { provider: openai-backup, model: sim-errors }]
  health-slow:
    pricing: { free: true }
    cache: off
    targets: [{ provider: openai-primary, model: sim-slow }, { provider: openai-backup, model: sim-slow }]
  health-429:
    pricing: { free: true }
    cache: off
    targets: [{ provider: openai-primary, model: sim-429 }, { provider: openai-backup, model: sim-429 }]
  health-chain:
    pricing: { free: true }
    cache: off
    targets: [{ provider: openai-primary, model: sim-chain }, { provider: openai-backup, model: sim-chain }, { provider: gemini, model: gemini-2.5-flash }]
  health-ok:
    pricing: { free: true }
    cache: off
    targets: [{ provider: openai-primary, model: sim-ok }, { provider: openai-backup, model: sim-ok }]
keys:
  - { name: demo, team: demo, fromEnv: GATEWAY_DEMO_KEY }
routing:
  health:
    breaker:
      latency: { thresholdMs: 400, consecutive: 3, openMs: ${OPEN_MS} }
      errors: { rate: 0.5, windowMs: 30000, minRequests: 4, openMs: ${OPEN_MS} }
      probeTimeoutMs: 10000
    rateLimited: { cooldownMs: 1000, maxCooldownMs: 10000 }
`;

let gw: TestStack;
let client: OpenAI;
let dir: string;
before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'llmx-health-'));
  const configFile = path.join(dir, 'gateway.yaml');
  writeFileSync(configFile, CONFIG);
  gw = await startTestStack({ configFile });
  client = gw.client();
});
after(async () => {
  await gw?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  for (const sim of Object.values(gw.sims)) sim.reset();
});

const primary = (): TestStack['sims'][string] => gw.sims['openai-primary']!;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Requests the primary simulator received for a provider model. */
const primaryRequests = (providerModel: string): number => primary().requests.filter((r) => (r.body as { model?: string })?.model === providerModel).length;

/** One chat request; the provider that served it (from its log line) and how many attempts it took. */
async function ask(model: string, stream = false): Promise<{ provider: unknown; attempts: unknown }> {
  let id: string | null;
  if (stream) {
    const res = await client.chat.completions.create({ model, messages: hello, stream: true }).withResponse();
    id = res.response.headers.get('x-request-id');
    for await (const _ of res.data) {
      // to the end
    }
  } else {
    const res = await client.chat.completions.create({ model, messages: hello }).withResponse();
    assert.ok(res.data.choices[0]?.message.content, 'an answer');
    id = res.response.headers.get('x-request-id');
  }
  const line = await gw.requestLog(id);
  assert.equal(line['status'], 200, 'the caller got an answer');
  return { provider: line['provider'], attempts: line['attempts'] };
}

const breakerState = (model: string): Promise<number> => gw.metric('gateway_breaker_state', { provider: 'openai-primary', model });

/** Polls `read` until it returns `want` (Envoy flushes its upstream log every 0.1 s). */
async function until<T>(what: string, read: () => Promise<T> | T, want: T, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  let last: T = await read();
  while (last !== want && Date.now() < end) {
    await sleep(50);
    last = await read();
  }
  assert.equal(last, want, what);
}

function breakerLines(model: string): Array<Record<string, unknown>> {
  return gw.logLines().filter((l) => l['msg'] === 'circuit breaker state changed' && l['model'] === model);
}

/** Entries Envoy's gRPC access loggers have written (both loggers share the counter), and the upstream logger's gRPC streams. */
async function upstreamLogStats(): Promise<{ written: number; streams: number }> {
  const text = await (await fetch(`${gw.adminUrl}/stats?filter=(grpc_access_log\\.logs_written|llm_upstream_log\\.streams_total)`)).text();
  const sum = (re: RegExp): number => {
    const found = [...text.matchAll(re)];
    assert.ok(found.length > 0, `Envoy has the stat ${re.source}`);
    return found.reduce((n, m) => n + Number(m[1]), 0);
  };
  return { written: sum(/logs_written: (\d+)/g), streams: sum(/llm_upstream_log\.streams_total: (\d+)/g) };
}

describe('target health from real traffic', () => {
  // First: nothing has failed on this stack yet.
  test('successful attempts send Envoy nothing: the failed-only upstream_log stays silent', async () => {
    const before = await upstreamLogStats();
    for (let i = 0; i < 20; i++) await ask('health-ok', i % 2 === 1);
    const after = await upstreamLogStats();
    assert.deepEqual(after, before, 'no upstream log entry (and no stream opened) for successful attempts');
    assert.equal(after.streams, 0, 'the upstream logger never had anything to send');
    assert.ok((await gw.metric('gateway_upstream_attempt_outcomes_total', { provider: 'openai-primary', model: 'sim-ok', result: 'ok' })) >= 20, 'every answer recorded');
  });

  test('a primary answering 500: every caller is served by the backup; the error breaker opens and the primary leaves the plan; after openMs a probe closes it', async () => {
    primary().setDefaultFault({ status: 500 });
    for (let i = 0; i < 4; i++) {
      const r = await ask('health-errors');
      assert.deepEqual(r, { provider: 'openai-backup', attempts: 2 }, `request ${i + 1}: failed over`);
    }
    // Four failed attempts from the upstream log: 100 % errors over minRequests 4.
    await until('the breaker opened (gateway_breaker_state 2)', () => breakerState('sim-errors'), 2);
    assert.equal(await gw.metric('gateway_upstream_attempt_outcomes_total', { provider: 'openai-primary', model: 'sim-errors', result: 'error' }), 4);
    const opened = breakerLines('sim-errors');
    assert.equal(opened.length, 1, 'one warn line');
    assert.equal(opened[0]!['level'], 40);
    assert.deepEqual([opened[0]!['provider'], opened[0]!['from'], opened[0]!['to'], opened[0]!['reason']], ['openai-primary', 'closed', 'open', 'errors']);
    assert.equal(await gw.metric('gateway_breaker_transitions_total', { provider: 'openai-primary', model: 'sim-errors', to: 'open', reason: 'errors' }), 1);

    // Open: the primary leaves the plan; the backup answers at once.
    const seen = primaryRequests('sim-errors');
    for (let i = 0; i < 3; i++) assert.deepEqual(await ask('health-errors'), { provider: 'openai-backup', attempts: 1 });
    assert.equal(primaryRequests('sim-errors'), seen, 'the primary saw none of them');

    // The primary recovers; after openMs one probe goes to it and closes the breaker.
    primary().setDefaultFault(undefined);
    await sleep(OPEN_MS + 100);
    assert.deepEqual(await ask('health-errors'), { provider: 'openai-primary', attempts: 1 }, 'the half-open probe went to the primary');
    await until('the breaker closed (gateway_breaker_state 0)', () => breakerState('sim-errors'), 0);
    assert.deepEqual(
      breakerLines('sim-errors').map((l) => `${String(l['from'])}>${String(l['to'])}`),
      ['closed>open', 'open>half-open', 'half-open>closed'],
    );
    assert.deepEqual(await ask('health-errors'), { provider: 'openai-primary', attempts: 1 }, 'traffic is back on the primary');
  });

  test('each failed attempt of a failover chain is charged to its own target: a 500 on the first, a reset on the second', async () => {
    primary().enqueueFault({ status: 500 });
    gw.sims['openai-backup']!.enqueueFault({ resetBeforeHeaders: true });
    assert.deepEqual(await ask('health-chain'), { provider: 'gemini', attempts: 3 });
    const outcome = (provider: string, model: string, result: string): Promise<number> => gw.metric('gateway_upstream_attempt_outcomes_total', { provider, model, result });
    await until('attempt 1: the primary, error', () => outcome('openai-primary', 'sim-chain', 'error'), 1);
    await until('attempt 2: the backup, reset', () => outcome('openai-backup', 'sim-chain', 'reset'), 1);
    assert.equal(await outcome('gemini', 'gemini-2.5-flash', 'ok'), 1, 'attempt 3 answered');
    assert.equal(await outcome('openai-backup', 'sim-chain', 'error'), 0);
  });

  test('a slow primary (3 answers in a row above thresholdMs) opens the latency breaker; the next request goes to the backup', async () => {
    primary().setDefaultFault({ latencyMs: 700 });
    for (let i = 0; i < 3; i++) {
      // Slow is not failed: the primary still answers these (one a stream: judged by time to first token).
      assert.deepEqual(await ask('health-slow', i === 2), { provider: 'openai-primary', attempts: 1 });
    }
    await until('the latency breaker opened', () => breakerState('sim-slow'), 2);
    assert.equal(await gw.metric('gateway_breaker_transitions_total', { provider: 'openai-primary', model: 'sim-slow', to: 'open', reason: 'latency' }), 1);
    assert.match(String(breakerLines('sim-slow')[0]?.['detail']), /3 attempts in a row above 400 ms/);
    const seen = primaryRequests('sim-slow');
    assert.deepEqual(await ask('health-slow'), { provider: 'openai-backup', attempts: 1 });
    assert.equal(primaryRequests('sim-slow'), seen, 'the slow primary was skipped');
  });

  test('a 429 with retry-after: 2 cools the primary down: the next request goes to the backup, after it the primary again', async () => {
    primary().enqueueFault({ status: 429, retryAfter: 2 });
    assert.deepEqual(await ask('health-429'), { provider: 'openai-backup', attempts: 2 }, 'the 429 failed over at once');
    await until('the 429 reached health', () => gw.metric('gateway_upstream_attempt_outcomes_total', { provider: 'openai-primary', model: 'sim-429', result: 'rate_limited' }), 1);
    const seen = primaryRequests('sim-429');
    assert.deepEqual(await ask('health-429'), { provider: 'openai-backup', attempts: 1 }, 'cooling down: straight to the backup');
    assert.equal(primaryRequests('sim-429'), seen);
    assert.equal(await breakerState('sim-429'), 0, 'a 429 is no error: the breaker stays closed');
    await sleep(2_100);
    assert.deepEqual(await ask('health-429'), { provider: 'openai-primary', attempts: 1 }, 'the cool-down is over');
  });
});
