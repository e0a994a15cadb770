import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitUntil } from '../../src/lib/wait-until.ts';
import { demoSupportKey } from '../../src/cli/stack.ts';
import { startTestStack, type TestStack } from '../support/e2e.ts';
import { startRedis, type TestRedis } from '../support/redis-server.ts';
import { demoConfigWithoutPolicies } from '../support/unit/config.ts';

/**
 * Issue 10, items 4 and 8: the request log line a SIEM reads, and the fleet's spend history.
 * Two replicas (each its own Envoy and ext_proc) on one redis-server serve traffic of two teams
 * over three providers, streamed and not; GET /admin/spend on either replica shows the sum of
 * both replicas' request lines. The numbers are the lines' own, not the gateway's code.
 */
type Line = Record<string, unknown>;
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

describe('request log lines and the fleet spend history (e2e, two replicas on Redis)', () => {
  let redis: TestRedis;
  let dir: string;
  const replicas: TestStack[] = [];
  const demoKey = `sk-llmx-e2e-${randomBytes(9).toString('hex')}`;
  const logFile = (i: number): string => path.join(dir, `replica-${i}`, 'gateway.log');

  before(async () => {
    redis = await startRedis();
    dir = mkdtempSync(path.join(tmpdir(), 'llmx-spend-e2e-'));
    for (let i = 0; i < 2; i++) {
      const configFile = path.join(dir, `gateway-${i}.yaml`);
      writeFileSync(configFile, `${demoConfigWithoutPolicies()}\nobservability:\n  requestLog:\n    file: { path: ${JSON.stringify(logFile(i))}, maxBytes: 10485760, maxFiles: 2 }\n    content: { teams: [support], maxChars: 2000 }\n`);
      replicas.push(await startTestStack({ configFile, demoKey, env: { REDIS_URL: redis.url } }));
    }
  });
  after(async () => {
    for (const r of replicas) await r.dispose();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Chat request lines (not /v1/models or refused-at-headers lines, which carry `method`). */
  const chatLines = (): Line[] => replicas.flatMap((r) => r.logLines().filter((l) => l['msg'] === 'request' && l['method'] === undefined));
  const admin = async (r: TestStack, query: string): Promise<any> => {
    const res = await fetch(`${r.adminApiUrl}/admin/spend${query}`, { headers: { authorization: `Bearer ${r.adminApiKey}` } });
    assert.equal(res.status, 200);
    return res.json();
  };

  it('one line per request with the SIEM fields; the caller address is what Envoy saw, not a header it sent', async () => {
    const client = replicas[0]!.client();
    const spoofed = { 'x-forwarded-for': '203.0.113.9', 'x-envoy-external-address': '203.0.113.9', 'x-request-id': `siem-${randomBytes(6).toString('hex')}` };
    const stream = await client.chat.completions.create(
      { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'Tell me a story' }], stream: true, stream_options: { include_usage: true } },
      { headers: spoofed },
    );
    for await (const _chunk of stream);
    const line = await replicas[0]!.requestLog(spoofed['x-request-id'], 'client_request_id');
    assert.equal(line['client_address'], '127.0.0.1');
    assert.equal(line['key_name'], 'demo');
    assert.equal(line['team'], 'demo');
    assert.equal(line['model'], 'claude-sonnet-4-5');
    assert.equal(line['provider'], 'anthropic');
    assert.equal(line['provider_model'], 'claude-sonnet-4-5-20250929');
    assert.equal(line['status'], 200);
    assert.equal(line['outcome'], 'completed');
    assert.equal(line['attempts'], 1);
    assert.ok(num(line['tokens_in']) > 0 && num(line['tokens_out']) > 0);
    assert.ok(num(line['cost_usd']) > 0);
    const ttft = line['time_to_first_token_ms'];
    assert.ok(typeof ttft === 'number' && ttft > 0 && ttft <= num(line['latency_ms']), `time_to_first_token_ms ${ttft} within latency_ms ${line['latency_ms']}`);
    assert.match(String(line['time']), /^\d{4}-\d{2}-\d{2}T/);
    assert.equal(line['prompt'], undefined, 'team demo has content logging off');
    assert.equal(line['completion'], undefined);

    // A JSON answer has no time to first token; a failed login is logged with its address too.
    const plain = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] }).withResponse();
    const plainLine = await replicas[0]!.requestLog(plain.response.headers.get('x-request-id'));
    assert.equal(plainLine['time_to_first_token_ms'], undefined);
    assert.equal(plainLine['client_address'], '127.0.0.1');
    const refused = await replicas[0]!.raw('/v1/chat/completions', { method: 'POST', headers: { authorization: 'Bearer sk-wrong-key-123456', 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.9' }, body: '{}' });
    assert.equal(refused.status, 401);
    const refusedLine = await replicas[0]!.requestLog(refused.headers.get('x-request-id'));
    assert.equal(refusedLine['outcome'], 'rejected');
    assert.equal(refusedLine['client_address'], '127.0.0.1');

    // The rotating file holds the same lines as stdout.
    await waitUntil('the line in the log file', async () => readFileSync(logFile(0), 'utf8').includes(String(line['request_id'])), 5000);
    const fromFile = readFileSync(logFile(0), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line).find((l) => l['request_id'] === line['request_id']);
    assert.deepEqual(fromFile, line);
  });

  it('prompts and completions only for a team with content logging on: the text the caller was sent, scrubbed', async () => {
    const client = replicas[1]!.client({ apiKey: demoSupportKey(demoKey) });
    const secret = 'sk-live-abcdefghijklmnopqrstu';
    const prompt = `Summarise this. My token is ${secret}`;
    let streamed = '';
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }], stream: true }).withResponse();
    for await (const chunk of stream.data) streamed += chunk.choices[0]?.delta.content ?? '';
    const line = await replicas[1]!.requestLog(stream.response.headers.get('x-request-id'));
    assert.equal(line['team'], 'support');
    assert.equal(line['prompt'], 'user: Summarise this. My token is [redacted]');
    // The simulator echoes the prompt: the secret comes back in the answer, and is scrubbed there too.
    assert.ok(streamed.includes(secret));
    assert.equal(line['completion'], streamed.replace(secret, '[redacted]'));
    assert.ok(!JSON.stringify(line).includes(secret), 'the secret is nowhere on the line');
    const plain = await client.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'Hi' }] }).withResponse();
    const plainLine = await replicas[1]!.requestLog(plain.response.headers.get('x-request-id'));
    assert.equal(plainLine['completion'], plain.data.choices[0]!.message.content);
  });

  it('GET /admin/spend on either replica shows the fleet: the sum of both replicas\' request lines', async () => {
    const support = demoSupportKey(demoKey);
    const jobs = Array.from({ length: 16 }, async (_, i) => {
      const r = replicas[i % 2]!;
      const client = r.client(i % 3 === 0 ? { apiKey: support } : {});
      const model = i % 3 === 0 ? (i % 2 ? 'gemini-2.5-flash' : 'gpt-4o-mini') : ['claude-sonnet-4-5', 'gpt-4o-mini', 'gemini-2.5-flash'][i % 3]!;
      const body = { model, messages: [{ role: 'user' as const, content: `Question number ${i}` }] };
      if (i % 2 === 0) {
        await client.chat.completions.create(body);
      } else {
        const stream = await client.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } });
        for await (const _chunk of stream);
      }
    });
    // One deterministic request asked twice: the second is a response cache hit (a request, no tokens used, no cost).
    const cached = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: `Name a colour ${randomBytes(4).toString('hex')}` }], temperature: 0, max_tokens: 20 };
    await Promise.all(jobs);
    await replicas[0]!.client().chat.completions.create(cached);
    await replicas[1]!.client().chat.completions.create(cached);

    const expected = 16 + 2 + 2 + 2; // + the first two tests' chat requests (the refused login has no team: a line with `method`, no spend)
    await waitUntil('a line per request', async () => chatLines().length === expected, 10_000).catch(() => undefined);
    const lines = chatLines();
    assert.equal(lines.length, expected);
    assert.ok(lines.some((l) => l['cache'] === 'hit'), 'one cache hit');
    assert.deepEqual(new Set(lines.map((l) => l['team'])), new Set(['demo', 'support']));
    // What the history counts of a line: every request; tokens and cost of what a provider served.
    const used = (l: Line, f: string): number => (l['cache'] === 'hit' ? 0 : num(l[f]));
    const want = { requests: lines.length, tokens_in: 0, tokens_out: 0, tokens_cached: 0, nano: 0 };
    const wantByTeam = new Map<string, number>();
    const wantByProvider = new Map<string, number>();
    for (const l of lines) {
      want.tokens_in += used(l, 'tokens_in');
      want.tokens_out += used(l, 'tokens_out');
      want.tokens_cached += used(l, 'tokens_cached');
      want.nano += Math.round(used(l, 'cost_usd') * 1e9);
      wantByTeam.set(String(l['team']), (wantByTeam.get(String(l['team'])) ?? 0) + 1);
      const key = `${l['provider']}/${l['model']}`;
      wantByProvider.set(key, (wantByProvider.get(key) ?? 0) + Math.round(used(l, 'cost_usd') * 1e9));
    }
    assert.ok(want.nano > 0 && want.tokens_in > 0);

    // Each replica writes its batch every second: poll until both have.
    let total: any;
    await waitUntil('the fleet total on replica 0', async () => (total = (await admin(replicas[0]!, '')).total).requests === want.requests, 10_000).catch(() => undefined);
    for (const r of replicas) {
      const all = await admin(r, '');
      assert.deepEqual(
        { ...all.total, cost_usd: Math.round(all.total.cost_usd * 1e9) },
        { requests: want.requests, tokens_in: want.tokens_in, tokens_out: want.tokens_out, tokens_cached: want.tokens_cached, cost_usd: want.nano },
        'the admin API total = Σ both replicas\' lines',
      );
      const byTeam = await admin(r, '?groupBy=team');
      const teams = new Map<string, number>();
      for (const row of byTeam.data) teams.set(row.team, (teams.get(row.team) ?? 0) + row.requests);
      assert.deepEqual(teams, wantByTeam);
      const byProvider = await admin(r, '?groupBy=provider,model');
      const providers = new Map<string, number>();
      for (const row of byProvider.data) providers.set(`${row.provider}/${row.model}`, (providers.get(`${row.provider}/${row.model}`) ?? 0) + Math.round(row.cost_usd * 1e9));
      assert.deepEqual(providers, wantByProvider);
    }
    assert.ok(total, 'read');
  });
});
