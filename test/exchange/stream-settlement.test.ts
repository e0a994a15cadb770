import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { estimatePromptTokens } from '../../src/exchange/stream-settlement.ts';
import type { ChatRequest } from '../../src/openai/chat-request.ts';
import { bodyMessage, headersMessage } from '../support/unit/ext-proc.ts';
import { admit, attempt, chatBody, harness } from '../support/unit/gateway.ts';
import { wireText } from '../support/unit/bytes.ts';

const h = harness();
after(() => h.close());

const CLUSTER: Record<string, string> = { 'gpt-4o-mini': 'openai-primary', 'claude-sonnet-4-5': 'anthropic', 'gemini-2.5-flash': 'gemini' };

/** A streamed request through the router: `pieces` as response bodies, none with end_of_stream, then Envoy's close. */
function streamThenClose(model: string, pieces: readonly string[], reason: 'done' | 'cancelled' = 'cancelled'): Record<string, unknown> {
  const router = h.router();
  const { id } = admit(router, chatBody(model, { stream: true, stream_options: { include_usage: true } }));
  attempt(h, id, CLUSTER[model]!, 1);
  router.handle(headersMessage('response_headers', { ':status': '200', 'content-type': 'text/event-stream' }));
  for (const p of pieces) router.handle(bodyMessage('response_body', p, false));
  router.close(reason);
  const line = h.lines().filter((l) => l['request_id'] === id).at(-1);
  assert.ok(line, 'one request line');
  return line;
}

function events(fixture: string): string[] {
  return wireText(fixture)
    .split(/\r?\n\r?\n/)
    .filter((e) => e.trim() !== '')
    .map((e) => `${e}\n\n`);
}

async function metric(name: 'requests' | 'tokens' | 'tokensEstimated', labels: Record<string, string>): Promise<number> {
  const { values } = await h.sinks.metrics[name].get();
  const hit = values.filter((v) => Object.entries(labels).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x));
  return hit.reduce((n, v) => n + v.value, 0);
}

const pick = (l: Record<string, unknown>, ...keys: string[]) => keys.map((k) => l[k]);

describe('a stream whose terminal event went out is settled by it, whatever the connection does next', () => {
  test('Anthropic: hang-up after [DONE], before the upstream end → completed with the provider counts', async () => {
    const before = await metric('requests', { model: 'claude-sonnet-4-5', outcome: 'completed', status: '200' });
    const line = streamThenClose('claude-sonnet-4-5', [wireText('anthropic/stream_text.sse')]);
    assert.deepEqual(pick(line, 'outcome', 'status', 'tokens_in', 'tokens_out', 'tokens_estimated', 'error_code'), ['completed', 200, 31, 16, false, undefined]);
    assert.equal(await metric('requests', { model: 'claude-sonnet-4-5', outcome: 'completed', status: '200' }), before + 1);
  });

  test('OpenAI-compatible: hang-up after [DONE] → completed with the usage chunk counts', () => {
    const line = streamThenClose('gpt-4o-mini', [wireText('openai/stream_text.sse')]);
    assert.deepEqual(pick(line, 'outcome', 'tokens_in', 'tokens_out', 'tokens_estimated'), ['completed', 29, 14, false]);
  });

  test('an error event → failed, with its status and code, in the log and the metrics', async () => {
    const evs = events('anthropic/stream_text.sse');
    const error = 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n';
    const line = streamThenClose('claude-sonnet-4-5', [evs.slice(0, 4).join('') + error]);
    assert.deepEqual(pick(line, 'outcome', 'status', 'error_code', 'tokens_in', 'tokens_estimated'), ['failed', 503, 'server_is_overloaded', 31, true]);
    assert.equal(await metric('requests', { model: 'claude-sonnet-4-5', outcome: 'failed', status: '503' }), 1);
  });

  test('a truncated upstream body (end without message_stop) → failed upstream_stream_truncated, not completed/200', () => {
    const router = h.router();
    const { id } = admit(router, chatBody('claude-sonnet-4-5', { stream: true }));
    attempt(h, id, 'anthropic', 1);
    router.handle(headersMessage('response_headers', { ':status': '200', 'content-type': 'text/event-stream' }));
    router.handle(bodyMessage('response_body', events('anthropic/stream_text.sse').slice(0, 4).join(''), true));
    router.close('done');
    const line = h.lines().filter((l) => l['request_id'] === id).at(-1)!;
    assert.deepEqual(pick(line, 'outcome', 'status', 'error_code'), ['failed', 502, 'upstream_stream_truncated']);
  });
});

describe('a stream abandoned before its end is aborted and carries the tokens so far', () => {
  test("Anthropic: input from message_start, output estimated; estimated tokens are counted in both token metrics", async () => {
    const inBefore = await metric('tokens', { model: 'claude-sonnet-4-5', direction: 'input' });
    const estBefore = await metric('tokensEstimated', { model: 'claude-sonnet-4-5', direction: 'output' });
    const line = streamThenClose('claude-sonnet-4-5', [events('anthropic/stream_text.sse').slice(0, 4).join('')]);
    // Text so far: "Hello" → ⌈5 / 4⌉.
    assert.deepEqual(pick(line, 'outcome', 'status', 'tokens_in', 'tokens_out', 'tokens_estimated'), ['aborted', 200, 31, 2, true]);
    assert.equal(await metric('tokens', { model: 'claude-sonnet-4-5', direction: 'input' }), inBefore + 31);
    assert.equal(await metric('tokensEstimated', { model: 'claude-sonnet-4-5', direction: 'output' }), estBefore + 2);
    assert.equal(await metric('tokensEstimated', { model: 'claude-sonnet-4-5', direction: 'input' }), 0, 'the input count is the provider\'s');
  });

  test('Gemini: both counts are Google\'s own, from the last event seen', () => {
    const line = streamThenClose('gemini-2.5-flash', [events('gemini/stream_text.sse')[0]!]);
    assert.deepEqual(pick(line, 'outcome', 'tokens_in', 'tokens_out', 'tokens_estimated'), ['aborted', 19, 46, false]);
  });

  test('OpenAI-compatible: input estimated from the request, output from the streamed text', async () => {
    const before = await metric('tokensEstimated', { model: 'gpt-4o-mini', direction: 'input' });
    const line = streamThenClose('gpt-4o-mini', [events('openai/stream_text.sse').slice(0, 3).join('')]);
    assert.equal(line['outcome'], 'aborted');
    assert.equal(line['tokens_estimated'], true);
    assert.ok((line['tokens_in'] as number) > 0);
    assert.equal(typeof line['tokens_out'], 'number');
    assert.equal(await metric('tokensEstimated', { model: 'gpt-4o-mini', direction: 'input' }), before + (line['tokens_in'] as number));
  });
});

test('estimatePromptTokens: ⌈chars / 4⌉ of the text in messages, tools and response_format, media left out', () => {
  const req = {
    model: 'm',
    messages: [
      { role: 'user', content: [{ type: 'text', text: 'abcdefgh' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${'A'.repeat(4000)}` } }] },
    ],
  } as unknown as ChatRequest;
  // "user" + "text" + "abcdefgh" + "image_url" (the part's type) = 25 chars.
  assert.equal(estimatePromptTokens(req), Math.ceil(25 / 4));
  assert.equal(estimatePromptTokens(undefined), 1);
});
