import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RouterProcessor } from '../../src/exchange/router-processor.ts';
import type { ExchangeSinks } from '../../src/exchange/finish.ts';
import type { ExtProcResponse } from '../../src/extproc/types.ts';
import { PolicyPipeline } from '../../src/policy/pipeline.ts';
import { gatewayThinkingStep } from '../../src/policy/thinking-step.ts';
import { mintThinkingSignature } from '../../src/simulator/providers/anthropic/thinking-signature.ts';
import { EmbeddedStateStore } from '../../src/state/embedded/store.ts';
import { admitHeaders, harness, type Harness } from '../support/unit/gateway.ts';
import { bodyMessage, headersMessage, phaseMutation } from '../support/unit/ext-proc.ts';

// The thinking step in the router-level processor's real request and response path (in-process,
// no Envoy): a tool-calling answer's blocks are kept while it is translated, and the request
// that continues the loop is translated with them, before its first attempt goes out.

const THOUGHT = 'Paris: call get_weather.';
const SIGNATURE = mintThinkingSignature(THOUGHT);
const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
const question = { role: 'user', content: 'Use get_weather for Paris.' };

type Anthropic = { thinking?: unknown; messages: Array<{ role: string; content: string | Array<Record<string, unknown>> }> };

let h: Harness;
let state: EmbeddedStateStore;
let sinks: ExchangeSinks;
before(() => {
  h = harness();
  state = new EmbeddedStateStore({ sqlitePath: ':memory:' });
  sinks = { ...h.sinks, policies: new PolicyPipeline([gatewayThinkingStep(state, h.sinks)], (step, phase, err) => assert.fail(`${step} ${phase}: ${String(err)}`)) };
});
after(async () => {
  h.close();
  await state.close();
});

/** The Anthropic request the router sends for `body` (awaiting the step's lookup when it has one). */
async function send(router: RouterProcessor, body: object): Promise<Anthropic> {
  admitHeaders(router);
  const reply: ExtProcResponse = await router.handle(bodyMessage('request_body', JSON.stringify(body)));
  const m = phaseMutation(reply, 'request_body');
  assert.ok(m.body, 'the translated body replaces the caller’s');
  return JSON.parse(m.body.toString('utf8')) as Anthropic;
}

/** Plays Anthropic's JSON answer back through the router; returns what the caller gets. */
function answer(router: RouterProcessor, content: unknown[]): Record<string, unknown> {
  phaseMutation(router.handle(headersMessage('response_headers', { ':status': '200', 'content-type': 'application/json' })), 'response_headers');
  const message = { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5-20250929', content, stop_reason: 'tool_use', usage: { input_tokens: 30, output_tokens: 40 } };
  const m = phaseMutation(router.handle(bodyMessage('response_body', JSON.stringify(message))), 'response_body');
  router.close('done');
  return JSON.parse(m.body!.toString('utf8')) as Record<string, unknown>;
}

const continuation = (id: string) => [
  question,
  { role: 'assistant', content: null, tool_calls: [{ id, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
  { role: 'tool', tool_call_id: id, content: '18 C' },
];

describe('thinking step in the router-level processor', () => {
  test('kept from the JSON answer, restored into the next request of the loop', async () => {
    const first = new RouterProcessor(h.configs, h.registry, sinks);
    const sent = await send(first, { model: 'claude-sonnet-4-5', messages: [question], tools, reasoning_effort: 'medium' });
    assert.deepEqual(sent.thinking, { type: 'enabled', budget_tokens: 8192 });
    const caller = answer(first, [
      { type: 'thinking', thinking: THOUGHT, signature: SIGNATURE },
      { type: 'tool_use', id: 'toolu_01Router', name: 'get_weather', input: { city: 'Paris' } },
    ]);
    assert.equal(JSON.stringify(caller).includes(SIGNATURE), false, 'the caller never sees the blocks');

    const second = await send(new RouterProcessor(h.configs, h.registry, sinks), {
      model: 'claude-sonnet-4-5',
      messages: continuation('toolu_01Router'),
      tools,
      reasoning_effort: 'medium',
    });
    assert.deepEqual(second.thinking, { type: 'enabled', budget_tokens: 8192 });
    const turn = second.messages[1]!.content as Array<Record<string, unknown>>;
    assert.deepEqual(turn[0], { type: 'thinking', thinking: THOUGHT, signature: SIGNATURE });
    assert.equal(turn[1]!['id'], 'toolu_01Router');
    assert.equal((await thinkingCounts())['restored'], 1);
  });

  test('kept from a stream as its events pass, in chunks the caller already got', async () => {
    const first = new RouterProcessor(h.configs, h.registry, sinks);
    await send(first, { model: 'claude-sonnet-4-5', messages: [question], tools, reasoning_effort: 'low', stream: true });
    phaseMutation(first.handle(headersMessage('response_headers', { ':status': '200', 'content-type': 'text/event-stream' })), 'response_headers');
    const ev = (data: Record<string, unknown>) => `event: ${String(data['type'])}\ndata: ${JSON.stringify(data)}\n\n`;
    const sse =
      ev({ type: 'message_start', message: { id: 'msg_2', type: 'message', role: 'assistant', content: [], usage: { input_tokens: 30, output_tokens: 1 } } }) +
      ev({ type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } }) +
      ev({ type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: THOUGHT.slice(0, 7) } }) +
      ev({ type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: THOUGHT.slice(7) } }) +
      ev({ type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: SIGNATURE } }) +
      ev({ type: 'content_block_stop', index: 0 }) +
      ev({ type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'toolu_01Streamed', name: 'get_weather', input: {} } }) +
      ev({ type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"city":"Paris"}' } }) +
      ev({ type: 'content_block_stop', index: 1 }) +
      ev({ type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 40 } }) +
      ev({ type: 'message_stop' });
    const bytes = Buffer.from(sse);
    let out = '';
    for (let at = 0; at < bytes.length; at += 37) {
      const end = at + 37 >= bytes.length;
      out += phaseMutation(first.handle(bodyMessage('response_body', bytes.subarray(at, at + 37), end)), 'response_body').body?.toString('utf8') ?? '';
    }
    first.close('done');
    assert.match(out, /toolu_01Streamed/);
    assert.equal(out.includes(SIGNATURE) || out.includes(THOUGHT), false);

    const second = await send(new RouterProcessor(h.configs, h.registry, sinks), {
      model: 'claude-sonnet-4-5',
      messages: continuation('toolu_01Streamed'),
      tools,
      reasoning_effort: 'low',
      stream: true,
    });
    assert.deepEqual(second.thinking, { type: 'enabled', budget_tokens: 1024 });
    assert.deepEqual((second.messages[1]!.content as Array<Record<string, unknown>>)[0], { type: 'thinking', thinking: THOUGHT, signature: SIGNATURE });
  });

  test('a continuation with nothing kept goes without thinking, and is counted as missing', async () => {
    const sent = await send(new RouterProcessor(h.configs, h.registry, sinks), {
      model: 'claude-sonnet-4-5',
      messages: continuation('toolu_01NeverKept'),
      tools,
      reasoning_effort: 'medium',
    });
    assert.equal(sent.thinking, undefined);
    assert.equal(JSON.stringify(sent).includes('"thinking"'), false);
    assert.equal((await thinkingCounts())['missing'], 1);
  });

  test('requests without reasoning_effort, or for a model with no Anthropic target, are not looked at', async () => {
    const before = await thinkingCounts();
    const plain = await send(new RouterProcessor(h.configs, h.registry, sinks), { model: 'claude-sonnet-4-5', messages: continuation('toolu_01Router'), tools });
    assert.equal(plain.thinking, undefined);
    const other = new RouterProcessor(h.configs, h.registry, sinks);
    admitHeaders(other);
    const reply = other.handle(bodyMessage('request_body', JSON.stringify({ model: 'gpt-4o-mini', messages: continuation('toolu_01Router'), tools, reasoning_effort: 'medium' })));
    assert.ok(!(reply instanceof Promise), 'no lookup: the router answers synchronously');
    phaseMutation(reply, 'request_body');
    assert.deepEqual(await thinkingCounts(), before);
  });
});

/** gateway_anthropic_thinking_total by result. */
async function thinkingCounts(): Promise<Record<string, number>> {
  const metric = await h.sinks.metrics.anthropicThinking.get();
  return Object.fromEntries(metric.values.map((v) => [String(v.labels['result']), v.value]));
}
