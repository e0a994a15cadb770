import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI, { APIError } from 'openai';
import { demoSupportKey } from '../../src/cli/stack.ts';
import { authHeaders, startTestStack, type TestStack } from '../support/e2e.ts';
import { schemaErrors } from '../support/openai-schema.ts';
import { startRedis, type TestRedis } from '../support/redis-server.ts';
import { demoConfigWithoutPolicies } from '../support/unit/config.ts';

/**
 * The response cache through the real Envoy and the openai SDK (issue 8 item 5): the demo config
 * (gpt-4o-mini `cache: auto`, the other models auto by default) with a token window on the demo
 * key, first on the embedded store, then two replicas sharing one redis-server.
 */
const RATE_LIMITS = `
rateLimits:
  keys:
    demo: { requestsPerMinute: 1000, tokensPerMinute: 1000000 }
`;

type Params = OpenAI.ChatCompletionCreateParamsNonStreaming;

/** A deterministic request (temperature 0, an output limit) no other test sends. */
function deterministic(model = 'gpt-4o-mini', extra: Partial<Params> = {}): Params {
  return { model, messages: [{ role: 'user', content: `Cache me ${randomBytes(6).toString('hex')}` }], temperature: 0, max_tokens: 50, ...extra };
}

async function ask(gw: TestStack, body: Params, opts: { apiKey?: string; headers?: Record<string, string> } = {}) {
  const { data, response } = await gw
    .client(opts.apiKey ? { apiKey: opts.apiKey } : {})
    .chat.completions.create(body, opts.headers ? { headers: opts.headers } : {})
    .withResponse();
  return { data, cache: response.headers.get('x-gateway-cache'), id: response.headers.get('x-request-id'), headers: response.headers };
}

/** A streamed request over raw HTTP: the exact SSE body, each event's JSON and the headers. */
async function askStream(gw: TestStack, body: Params, includeUsage: boolean) {
  const res = await gw.raw('/v1/chat/completions', {
    method: 'POST',
    headers: authHeaders(gw),
    body: JSON.stringify({ ...body, stream: true, ...(includeUsage ? { stream_options: { include_usage: true } } : {}) }),
  });
  const text = await res.text();
  const data = text
    .split('\n\n')
    .filter((e) => e.startsWith('data: '))
    .map((e) => e.slice('data: '.length));
  return { res, text, data, chunks: data.filter((d) => d !== '[DONE]').map((d) => JSON.parse(d) as OpenAI.ChatCompletionChunk) };
}

/** A completion the simulator replays verbatim (OpenAI wire format). */
function replayed(content: string, finish: string): string {
  return JSON.stringify({
    id: 'chatcmpl-replayed',
    object: 'chat.completion',
    created: 1_700_000_000,
    model: 'gpt-4o-mini',
    choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: finish }],
    usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 },
  });
}

function configWith(dir: string, extra: string): string {
  const file = path.join(dir, 'gateway.yaml');
  writeFileSync(file, demoConfigWithoutPolicies() + extra);
  return file;
}

describe('response cache, embedded store (e2e)', () => {
  let gw: TestStack;
  let dir: string;
  const demoKey = `sk-llmx-e2e-${randomBytes(9).toString('hex')}`;
  const primary = (): number => gw.sims['openai-primary']!.requests.length;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'llmx-cache-e2e-'));
    gw = await startTestStack({ configFile: configWith(dir, RATE_LIMITS), demoKey });
  });
  after(async () => {
    await gw?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('a deterministic JSON request asked twice: miss, then a hit with the same answer, one provider call, no tokens charged', async () => {
    const body = deterministic();
    const calls = primary();
    const first = await ask(gw, body);
    assert.equal(first.cache, 'miss');
    const second = await ask(gw, body);
    assert.equal(second.cache, 'hit');
    assert.equal(primary(), calls + 1, 'the provider was called once');
    assert.deepEqual(schemaErrors('CreateChatCompletionResponse', second.data), []);
    assert.deepEqual(second.data.choices, first.data.choices);
    assert.deepEqual(second.data.usage, first.data.usage);
    assert.notEqual(second.data.id, first.data.id, 'a hit is its own response');
    assert.equal(second.data.model, 'gpt-4o-mini');
    assert.match(second.headers.get('age') ?? '', /^\d+$/);

    const missLine = await gw.requestLog(first.id);
    const hitLine = await gw.requestLog(second.id);
    assert.equal(missLine['cache'], 'miss');
    assert.equal(missLine['provider'], 'openai-primary');
    assert.equal(hitLine['cache'], 'hit');
    assert.equal(hitLine['provider'], 'cache');
    assert.equal(hitLine['status'], 200);
    assert.equal(hitLine['outcome'], 'completed');
    assert.equal(hitLine['cost_usd'], 0);
    assert.equal(hitLine['tokens_in'], first.data.usage!.prompt_tokens, 'the log shows what the hit returned');
    assert.equal(hitLine['tokens_out'], first.data.usage!.completion_tokens);

    // A hit is 1 request and 0 tokens on the token window: the next hit finds the window where
    // this one left it (a window that slid meanwhile only frees tokens).
    const third = await ask(gw, body);
    assert.equal(third.cache, 'hit');
    await gw.requestLog(third.id);
    const fourth = await ask(gw, body);
    assert.equal(fourth.cache, 'hit');
    const remaining = (h: Headers): number => Number(h.get('x-ratelimit-remaining-tokens'));
    assert.ok(Number.isFinite(remaining(third.headers)) && third.headers.get('x-ratelimit-remaining-tokens') !== null);
    assert.ok(remaining(fourth.headers) >= remaining(third.headers), `${remaining(fourth.headers)} >= ${remaining(third.headers)}`);

    assert.ok((await gw.metric('gateway_cache_requests_total', { model: 'gpt-4o-mini', team: 'demo', result: 'hit' })) >= 3);
    assert.ok((await gw.metric('gateway_cache_saved_tokens_total', { model: 'gpt-4o-mini', team: 'demo', type: 'output' })) >= 3 * first.data.usage!.completion_tokens);
    assert.ok((await gw.metric('gateway_cache_saved_cost_usd_total', { model: 'gpt-4o-mini', team: 'demo' })) > 0);
    assert.ok((await gw.metric('gateway_cache_stores_total', { model: 'gpt-4o-mini', team: 'demo' })) >= 1);
  });

  test('the same request streamed is replayed as a well-formed SSE stream, with the usage chunk when asked', async () => {
    const body = deterministic();
    const stored = await ask(gw, body);
    assert.equal(stored.cache, 'miss');
    const calls = primary();
    for (const includeUsage of [true, false]) {
      const { res, text, data, chunks } = await askStream(gw, body, includeUsage);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-gateway-cache'), 'hit');
      assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
      assert.equal(data.at(-1), '[DONE]', text);
      for (const c of chunks) assert.deepEqual(schemaErrors('CreateChatCompletionStreamResponse', c), []);
      assert.equal(new Set(chunks.map((c) => c.id)).size, 1, 'one id for every chunk');
      assert.equal(chunks.map((c) => c.choices[0]?.delta.content ?? '').join(''), stored.data.choices[0]!.message.content);
      assert.equal(chunks.filter((c) => c.choices.length > 0).at(-1)?.choices[0]?.finish_reason, stored.data.choices[0]!.finish_reason);
      const usage = chunks.filter((c) => c.usage);
      if (includeUsage) {
        assert.equal(usage.length, 1);
        assert.deepEqual(usage[0]!.choices, []);
        assert.deepEqual(usage[0]!.usage, stored.data.usage);
      } else {
        assert.equal(usage.length, 0);
      }
    }
    // Through the SDK too.
    const sdk = await gw.client().chat.completions.create({ ...body, stream: true });
    let content = '';
    for await (const chunk of sdk) content += chunk.choices[0]?.delta.content ?? '';
    assert.equal(content, stored.data.choices[0]!.message.content);
    assert.equal(primary(), calls, 'no provider call for the replays');
  });

  test('a streamed answer is stored as it passes: the same request as JSON is then a hit', async () => {
    const body = deterministic();
    const streamed = await askStream(gw, body, false);
    assert.equal(streamed.res.headers.get('x-gateway-cache'), 'miss');
    assert.equal(streamed.data.at(-1), '[DONE]');
    const again = await ask(gw, body);
    assert.equal(again.cache, 'hit');
    assert.equal(again.data.choices[0]!.message.content, streamed.chunks.map((c) => c.choices[0]?.delta.content ?? '').join(''));
    assert.ok(again.data.usage && again.data.usage.prompt_tokens > 0, 'the settled usage is stored even when the stream did not carry it');
  });

  test("another team's key with the same body misses: entries are never shared across teams", async () => {
    const body = deterministic();
    assert.equal((await ask(gw, body)).cache, 'miss');
    assert.equal((await ask(gw, body)).cache, 'hit');
    const other = await ask(gw, body, { apiKey: demoSupportKey(demoKey) });
    assert.equal(other.cache, 'miss');
    assert.equal((await gw.requestLog(other.id))['team'], 'support');
  });

  test('cache-control: no-store bypasses and stores nothing; no-cache skips the read and refreshes the entry', async () => {
    const body = deterministic();
    const noStore = await ask(gw, body, { headers: { 'cache-control': 'no-store' } });
    assert.equal(noStore.cache, 'bypass');
    assert.equal((await ask(gw, body)).cache, 'miss', 'the no-store answer was not stored');
    assert.equal((await ask(gw, body)).cache, 'hit');

    // no-cache: the provider is asked again, and its new answer replaces the entry.
    gw.sims['openai-primary']!.enqueueFault({ replay: { status: 200, contentType: 'application/json', body: replayed('A refreshed answer.', 'stop') } });
    const calls = primary();
    const refresh = await ask(gw, body, { headers: { 'cache-control': 'no-cache' } });
    assert.equal(refresh.cache, 'bypass');
    assert.equal(primary(), calls + 1);
    assert.equal(refresh.data.choices[0]!.message.content, 'A refreshed answer.');
    assert.equal((await gw.requestLog(refresh.id))['cache'], 'bypass');
    const after = await ask(gw, body);
    assert.equal(after.cache, 'hit');
    assert.equal(after.data.choices[0]!.message.content, 'A refreshed answer.');
  });

  test('a request that is not deterministic (temperature 0.7) bypasses the cache', async () => {
    const body = deterministic('gpt-4o-mini', { temperature: 0.7 });
    const calls = primary();
    assert.equal((await ask(gw, body)).cache, 'bypass');
    assert.equal((await ask(gw, body)).cache, 'bypass');
    assert.equal(primary(), calls + 2);
    assert.ok((await gw.metric('gateway_cache_bypass_total', { model: 'gpt-4o-mini', reason: 'not_deterministic' })) >= 2);
  });

  test('an error answer and a content-filtered answer are not stored', async () => {
    const body = deterministic('gemini-2.5-flash');
    gw.sims['gemini']!.enqueueFault({ status: 500 });
    const failed = await gw.client().chat.completions.create(body).withResponse().catch((e: unknown) => e);
    assert.ok(failed instanceof APIError && failed.status === 502, String(failed));
    assert.equal(failed.headers?.get('x-gateway-cache'), 'miss');
    assert.equal((await ask(gw, body)).cache, 'miss', 'the error was not stored');
    assert.equal((await ask(gw, body)).cache, 'hit');

    const filtered = deterministic();
    gw.sims['openai-primary']!.enqueueFault({ replay: { status: 200, contentType: 'application/json', body: replayed('', 'content_filter') } });
    const first = await ask(gw, filtered);
    assert.equal(first.cache, 'miss');
    assert.equal(first.data.choices[0]!.finish_reason, 'content_filter');
    assert.equal((await ask(gw, filtered)).cache, 'miss', 'the filtered answer was not stored');
    assert.ok((await gw.metric('gateway_cache_store_skipped_total', { reason: 'content_filter' })) >= 1);
  });

  test('a cut stream and a stream ending in an error event are not stored', async () => {
    const cut = deterministic('gemini-2.5-flash');
    // As the fault matrix's "reset mid-stream": the 200 head and some chunks, then the connection is cut.
    gw.sims['gemini']!.enqueueFault({ resetAfterEvents: 3, chunks: 6, chunkDelayMs: 50 });
    const { data: broken, response } = await gw.client().chat.completions.create({ ...cut, stream: true }).withResponse();
    assert.equal(response.headers.get('x-gateway-cache'), 'miss');
    await assert.rejects(async () => {
      for await (const _ of broken) void _;
    });
    assert.equal((await gw.requestLog(response.headers.get('x-request-id')))['outcome'], 'aborted');
    assert.equal((await ask(gw, cut)).cache, 'miss', 'the cut stream was not stored');

    const errored = deterministic('gemini-2.5-flash');
    gw.sims['gemini']!.enqueueFault({ errorEventAfterEvents: 2, chunks: 6 });
    const s = await askStream(gw, errored, true);
    assert.equal(s.res.headers.get('x-gateway-cache'), 'miss');
    assert.ok(s.data.some((d) => d.includes('"error"')), s.text);
    assert.equal((await ask(gw, errored)).cache, 'miss', 'the errored stream was not stored');
  });
});

describe('response cache across two replicas sharing Redis (e2e)', () => {
  let redis: TestRedis;
  let dir: string;
  const replicas: TestStack[] = [];
  const demoKey = `sk-llmx-e2e-${randomBytes(9).toString('hex')}`;

  before(async () => {
    redis = await startRedis();
    dir = mkdtempSync(path.join(tmpdir(), 'llmx-cache-redis-e2e-'));
    const configFile = configWith(dir, '');
    // One after the other: the machine is small, and each start is Envoy + ext_proc + simulators.
    for (let i = 0; i < 2; i++) replicas.push(await startTestStack({ configFile, demoKey, env: { REDIS_URL: redis.url } }));
  });
  after(async () => {
    for (const r of replicas) await r.dispose();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('an answer stored through replica A is a hit on replica B, as JSON and as a stream', async () => {
    const [a, b] = [replicas[0]!, replicas[1]!];
    const body = deterministic();
    const stored = await ask(a, body);
    assert.equal(stored.cache, 'miss');
    // The write is not awaited by the request path: wait until Redis holds it.
    let hit: Awaited<ReturnType<typeof ask>> | undefined;
    for (let i = 0; i < 50 && hit?.cache !== 'hit'; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100));
      hit = await ask(b, body);
    }
    assert.equal(hit!.cache, 'hit');
    assert.deepEqual(hit!.data.choices, stored.data.choices);
    assert.equal(b.sims['openai-primary']!.requests.length + b.sims['openai-backup']!.requests.length, 0, "replica B's providers were never called");
    const s = await askStream(b, body, true);
    assert.equal(s.res.headers.get('x-gateway-cache'), 'hit');
    assert.equal(s.data.at(-1), '[DONE]');
    assert.deepEqual(s.chunks.find((c) => c.usage)?.usage, stored.data.usage);
    // Another team still misses on the shared store.
    assert.equal((await ask(b, body, { apiKey: demoSupportKey(demoKey) })).cache, 'miss');
  });
});
