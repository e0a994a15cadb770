import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { startTestStack, type TestStack } from '../support/e2e.ts';

/**
 * Issue 7 item 1: every streamed token is counted. The official SDK closes the connection as
 * soon as it reads `[DONE]` (or an error event), usually before the provider's end of stream
 * reaches the gateway; each such stream must still settle `completed` with the provider's
 * counts. Streams per dialect and scenario: STREAM_ACCOUNTING_RUNS (the bar is 100).
 */
const RUNS = Number(process.env.STREAM_ACCOUNTING_RUNS ?? 100);
/** Streams abandoned after their first chunk, per dialect (each is paced, so slower). */
const ABANDONED = Number(process.env.STREAM_ACCOUNTING_ABANDONED ?? 10);
/** Streams in flight at once: a caller pool, as a service would run them. */
const CONCURRENCY = 5;

const DIALECTS = [
  { model: 'gpt-4o-mini', sim: 'openai-primary', outputCounted: false },
  { model: 'claude-sonnet-4-5', sim: 'anthropic', outputCounted: false },
  // Gemini states cumulative counts on every event: an abandoned stream carries Google's own.
  { model: 'gemini-2.5-flash', sim: 'gemini', outputCounted: true },
] as const;

const messages = [{ role: 'user' as const, content: 'Tell me about token accounting in gateways.' }];

type Line = Record<string, unknown>;
type StopAt = 'done' | 'usage' | 'finish' | 'first';

let gw: TestStack;
let client: OpenAI;
before(async () => {
  gw = await startTestStack();
  client = gw.client();
});
after(async () => {
  await gw?.dispose();
});

interface Streamed {
  requestId: string;
  usage: OpenAI.CompletionUsage | undefined;
}

/** One stream read by the SDK's `for await`, left where `stopAt` says (`done`: the SDK stops at [DONE] itself). */
async function stream(model: string, stopAt: StopAt): Promise<Streamed> {
  const includeUsage = stopAt !== 'finish';
  const { data, response } = await client.chat.completions
    .create({ model, messages, stream: true, ...(includeUsage ? { stream_options: { include_usage: true } } : {}) })
    .withResponse();
  const requestId = response.headers.get('x-request-id');
  assert.ok(requestId, 'x-request-id on the response');
  let usage: OpenAI.CompletionUsage | undefined;
  for await (const chunk of data) {
    if (stopAt === 'first') break;
    if (chunk.usage) usage = chunk.usage;
    if (stopAt === 'usage' && chunk.usage) break;
    if (stopAt === 'finish' && chunk.choices[0]?.finish_reason) break;
  }
  return { requestId, usage };
}

/** Runs `n` calls of `fn`, CONCURRENCY at a time. */
async function pool<T>(n: number, fn: () => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      next++;
      out.push(await fn());
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, n) }, worker));
  return out;
}

/** The request lines of `ids`; the log is written asynchronously, so it is polled (bounded). */
async function linesFor(ids: readonly string[]): Promise<Map<string, Line>> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const byId = new Map<string, Line>();
    for (const l of gw.logLines()) if (l['msg'] === 'request' && ids.includes(l['request_id'] as string)) byId.set(l['request_id'] as string, l);
    if (byId.size === ids.length || Date.now() > deadline) return byId;
    await new Promise((r) => setTimeout(r, 50));
  }
}


async function tokenMetrics(model: string) {
  return {
    input: await gw.metric('gateway_tokens_total', { model, direction: 'input' }),
    output: await gw.metric('gateway_tokens_total', { model, direction: 'output' }),
    estimatedInput: await gw.metric('gateway_tokens_estimated_total', { model, direction: 'input' }),
    estimatedOutput: await gw.metric('gateway_tokens_estimated_total', { model, direction: 'output' }),
  };
}

const sum = (lines: Line[], key: string): number => lines.reduce((n, l) => n + (l[key] as number), 0);

for (const d of DIALECTS) {
  describe(`${d.model}: streams read by the official SDK`, () => {
    /** The provider's counts for this prompt, as the usage chunk reported them. */
    let counts: OpenAI.CompletionUsage | undefined;

    for (const stopAt of ['done', 'usage', 'finish'] as const) {
      const how = { done: 'the SDK stops at [DONE]', usage: 'break right after the usage chunk', finish: 'break right after the finish chunk (no include_usage)' }[stopAt];
      test(`${RUNS} streams, ${how}: every one settled completed with the provider's token counts, in the log and /metrics`, async () => {
        gw.sims[d.sim]!.reset();
        const before = { ...(await tokenMetrics(d.model)), completed: await gw.metric('gateway_requests_total', { model: d.model, outcome: 'completed', status: '200' }) };
        const runs = await pool(RUNS, () => stream(d.model, stopAt));
        const lines = await linesFor(runs.map((r) => r.requestId));
        assert.equal(lines.size, RUNS, 'one request line per stream');
        const bad: string[] = [];
        for (const r of runs) {
          const usage = r.usage ?? counts;
          assert.ok(usage, 'the caller got a usage chunk (or an earlier run did, for the same prompt)');
          counts ??= usage;
          const l = lines.get(r.requestId)!;
          const got = [l['outcome'], l['status'], l['tokens_in'], l['tokens_out'], l['tokens_estimated']];
          const want = ['completed', 200, usage.prompt_tokens, usage.completion_tokens, false];
          if (JSON.stringify(got) !== JSON.stringify(want)) bad.push(`${JSON.stringify(got)} ≠ ${JSON.stringify(want)}`);
        }
        const aborted = [...lines.values()].filter((l) => l['outcome'] !== 'completed').length;
        assert.deepEqual(bad.slice(0, 3), [], `${bad.length} of ${RUNS} streams misaccounted, ${aborted} not settled completed`);
        const all = [...lines.values()];
        const after = { ...(await tokenMetrics(d.model)), completed: await gw.metric('gateway_requests_total', { model: d.model, outcome: 'completed', status: '200' }) };
        assert.equal(after.completed - before.completed, RUNS, 'gateway_requests_total{outcome="completed"}');
        assert.equal(after.input - before.input, sum(all, 'tokens_in'), 'input tokens in /metrics');
        assert.equal(after.output - before.output, sum(all, 'tokens_out'), 'output tokens in /metrics');
        assert.equal(after.estimatedInput + after.estimatedOutput, before.estimatedInput + before.estimatedOutput, 'nothing estimated');
      });
    }

    test(`${ABANDONED} streams abandoned after the first chunk: aborted, with the input tokens and the output so far`, async () => {
      assert.ok(counts, 'the completed runs came first');
      const sim = gw.sims[d.sim]!;
      sim.reset();
      // Paced events keep the provider's end far behind the caller's hang-up.
      sim.setDefaultFault({ chunkDelayMs: 40, chunks: 12 });
      try {
        const before = { ...(await tokenMetrics(d.model)), aborted: await gw.metric('gateway_requests_total', { model: d.model, outcome: 'aborted' }) };
        const runs = await pool(ABANDONED, () => stream(d.model, 'first'));
        const lines = await linesFor(runs.map((r) => r.requestId));
        assert.equal(lines.size, ABANDONED, 'one request line per stream');
        const all = [...lines.values()];
        for (const l of all) {
          assert.equal(l['outcome'], 'aborted', JSON.stringify(l));
          assert.ok((l['tokens_in'] as number) > 0, 'input tokens are known');
          assert.equal(typeof l['tokens_out'], 'number');
          if (d.model !== 'gpt-4o-mini') assert.equal(l['tokens_in'], counts!.prompt_tokens, "the provider's input count from its first event");
          assert.ok((l['tokens_out'] as number) < counts!.completion_tokens, 'only the output so far');
          assert.equal(l['tokens_estimated'], !d.outputCounted, 'the line says whether counts are estimated');
        }
        const after = { ...(await tokenMetrics(d.model)), aborted: await gw.metric('gateway_requests_total', { model: d.model, outcome: 'aborted' }) };
        assert.equal(after.aborted - before.aborted, ABANDONED, 'gateway_requests_total{outcome="aborted"}');
        assert.equal(after.input - before.input, sum(all, 'tokens_in'), 'input tokens in /metrics');
        assert.equal(after.output - before.output, sum(all, 'tokens_out'), 'output tokens in /metrics');
        const estimatedIn = d.model === 'gpt-4o-mini' ? sum(all, 'tokens_in') : 0;
        const estimatedOut = d.outputCounted ? 0 : sum(all, 'tokens_out');
        assert.equal(after.estimatedInput - before.estimatedInput, estimatedIn, 'estimated input tokens in /metrics');
        assert.equal(after.estimatedOutput - before.estimatedOutput, estimatedOut, 'estimated output tokens in /metrics');
      } finally {
        sim.setDefaultFault(undefined);
      }
    });

    test('a stream that ends with an error event: failed, with the error the caller got and its status', async () => {
      const sim = gw.sims[d.sim]!;
      sim.reset();
      sim.enqueueFault({ errorEventAfterEvents: 2 });
      let requestId = '';
      const err = await (async () => {
        const { data, response } = await client.chat.completions.create({ model: d.model, messages, stream: true }).withResponse();
        requestId = response.headers.get('x-request-id') ?? '';
        try {
          for await (const _ of data) void _;
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      assert.ok(err instanceof OpenAI.APIError, `the SDK throws on the error event: ${String(err)}`);
      const l = (await linesFor([requestId])).get(requestId);
      assert.ok(l, 'the request line');
      assert.equal(l['outcome'], 'failed');
      assert.equal(l['error_code'], err.code ?? err.type);
      assert.ok((l['status'] as number) >= 400, `status ${String(l['status'])} is the error's, not 200`);
      assert.ok((await gw.metric('gateway_requests_total', { model: d.model, outcome: 'failed', status: String(l['status']) })) >= 1);
    });
  });
}
