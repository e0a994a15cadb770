import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type OpenAI from 'openai';
import { checkThinkingSignature } from '../../src/simulator/providers/anthropic/thinking-signature.ts';
import { startTestStack, type TestStack } from '../support/e2e.ts';

// Issue 8 item 6: Claude's thinking across a tool loop, through the real Envoy with the official
// SDK. The simulated Anthropic signs its thinking blocks (HMAC over the text) and, like the API,
// refuses a continued tool loop with thinking on whose opening turn lacks its thinking block,
// or carries one it did not sign or that was altered: a wrong restore is a 400 here, not a pass.

type Msg = OpenAI.Chat.Completions.ChatCompletionMessageParam;
type Block = Record<string, unknown>;
type AnthropicBody = { thinking?: unknown; messages: Array<{ role: string; content: string | Block[] }> };

const MODEL = 'claude-sonnet-4-5';
const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Current weather for a city',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
    },
  },
];
const question: Msg = { role: 'user', content: 'Use get_weather to tell me the weather in Paris.' };

let gw: TestStack;
before(async () => {
  gw = await startTestStack();
});
after(async () => {
  await gw?.dispose();
});

function lastAnthropicBody(): AnthropicBody {
  const body = gw.sims['anthropic']!.requests.at(-1)?.body;
  assert.ok(body && typeof body === 'object', 'the simulated Anthropic received a JSON request');
  return body as AnthropicBody;
}

/** Every thinking / redacted_thinking block of a request body, with where it was. */
function thinkingBlocks(body: AnthropicBody): Array<{ at: number; index: number; block: Block }> {
  const out: Array<{ at: number; index: number; block: Block }> = [];
  body.messages.forEach((m, at) => {
    if (typeof m.content === 'string') return;
    m.content.forEach((block, index) => {
      if (block['type'] === 'thinking' || block['type'] === 'redacted_thinking') out.push({ at, index, block });
    });
  });
  return out;
}

/** The request that continues the loop: the assistant's tool calls and one result each. */
function continuation(calls: ReadonlyArray<{ id: string; name: string; args: string }>): Msg[] {
  return [
    question,
    { role: 'assistant', content: null, tool_calls: calls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.args } })) },
    ...calls.map((c): Msg => ({ role: 'tool', tool_call_id: c.id, content: '18 C, light rain' })),
  ];
}

async function firstTurnJson(reasoning: boolean): Promise<Array<{ id: string; name: string; args: string }>> {
  const res = await gw.client().chat.completions.create({ model: MODEL, messages: [question], tools, ...(reasoning ? { reasoning_effort: 'medium' as const } : {}) });
  const calls = res.choices[0]!.message.tool_calls ?? [];
  assert.equal(calls.length, 1, 'the model called the tool');
  // The caller's answer carries no thinking: OpenAI messages have no slot for it.
  assert.equal(JSON.stringify(res).includes('signature'), false);
  return calls.map((c) => {
    assert.equal(c.type, 'function');
    return { id: c.id, name: c.function.name, args: c.function.arguments };
  });
}

async function firstTurnStreamed(): Promise<Array<{ id: string; name: string; args: string }>> {
  const stream = await gw.client().chat.completions.create({ model: MODEL, messages: [question], tools, reasoning_effort: 'medium', stream: true });
  const call = { id: '', name: '', args: '' };
  for await (const chunk of stream) {
    for (const tc of chunk.choices[0]?.delta.tool_calls ?? []) {
      call.id ||= tc.id ?? '';
      call.name += tc.function?.name ?? '';
      call.args += tc.function?.arguments ?? '';
    }
  }
  assert.ok(call.id.startsWith('toolu_'), `a tool call came: ${JSON.stringify(call)}`);
  return [call];
}

describe('a tool loop under reasoning_effort on Claude keeps thinking on', () => {
  test('JSON: the second request sends the kept thinking block first, signature exact, with thinking enabled', async () => {
    const restored = await gw.metric('gateway_anthropic_thinking_total', { result: 'restored' });
    const calls = await firstTurnJson(true);
    const first = lastAnthropicBody();
    assert.ok(first.thinking, 'thinking was on for the first request');

    const res = await gw.client().chat.completions.create({ model: MODEL, messages: continuation(calls), tools, reasoning_effort: 'medium' });
    assert.equal(res.choices[0]!.finish_reason, 'stop');
    assert.match(res.choices[0]!.message.content ?? '', /18 C, light rain/);

    const second = lastAnthropicBody();
    assert.deepEqual(second.thinking, { type: 'enabled', budget_tokens: 8192 });
    const blocks = thinkingBlocks(second);
    assert.equal(blocks.length, 1, 'one thinking block, in the turn that called the tool');
    const [{ at, index, block }] = blocks as [(typeof blocks)[number]];
    assert.equal(second.messages[at]!.role, 'assistant');
    assert.equal(index, 0, 'the thinking block opens the turn');
    const turn = second.messages[at]!.content as Block[];
    assert.deepEqual(
      turn.filter((b) => b['type'] === 'tool_use').map((b) => b['id']),
      calls.map((c) => c.id),
    );
    assert.deepEqual(Object.keys(block).sort(), ['signature', 'thinking', 'type']);
    assert.ok(checkThinkingSignature(String(block['signature']), String(block['thinking'])), 'the signature the simulator minted, over the text it sent');
    assert.equal(await gw.metric('gateway_anthropic_thinking_total', { result: 'restored' }), restored + 1);
  });

  test('stream: blocks assembled from the SSE deltas are sent back the same way', async () => {
    const calls = await firstTurnStreamed();
    const stream = await gw.client().chat.completions.create({ model: MODEL, messages: continuation(calls), tools, reasoning_effort: 'medium', stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    assert.match(text, /18 C, light rain/);
    const second = lastAnthropicBody();
    assert.ok(second.thinking, 'thinking stayed on');
    const [only, ...rest] = thinkingBlocks(second);
    assert.equal(rest.length, 0);
    assert.equal(only?.index, 0);
    assert.ok(checkThinkingSignature(String(only!.block['signature']), String(only!.block['thinking'])));
  });

  test('blocks not kept (expired, or the loop began without thinking): thinking off for that request, 200', async () => {
    // The first turn without reasoning_effort: Claude answered without thinking, nothing was kept.
    const calls = await firstTurnJson(false);
    const missing = await gw.metric('gateway_anthropic_thinking_total', { result: 'missing' });
    const res = await gw.client().chat.completions.create({ model: MODEL, messages: continuation(calls), tools, reasoning_effort: 'medium' });
    assert.equal(res.choices[0]!.finish_reason, 'stop');
    const second = lastAnthropicBody();
    assert.equal(second.thinking, undefined, 'thinking off: Anthropic would refuse the turn without its block');
    assert.deepEqual(thinkingBlocks(second), []);
    assert.equal(await gw.metric('gateway_anthropic_thinking_total', { result: 'missing' }), missing + 1, 'counted');
  });

  test('tool-call ids the gateway never kept anything for: thinking off, 200', async () => {
    const forged = continuation([{ id: 'toolu_01forgedforgedforgedforg', name: 'get_weather', args: '{"city":"Paris"}' }]);
    const res = await gw.client().chat.completions.create({ model: MODEL, messages: forged, tools, reasoning_effort: 'high' });
    assert.equal(res.choices[0]!.finish_reason, 'stop');
    assert.equal(lastAnthropicBody().thinking, undefined);
  });
});
