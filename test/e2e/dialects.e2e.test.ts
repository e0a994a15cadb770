import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type OpenAI from 'openai';
import { startTestStack, type TestStack } from '../support/e2e.ts';

let gw: TestStack;
before(async () => {
  gw = await startTestStack();
});
after(async () => {
  await gw?.dispose();
});

const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Current weather for a city',
      parameters: {
        type: 'object',
        properties: { location: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
        required: ['location', 'unit'],
        additionalProperties: false,
      },
    },
  },
];

type Msg = OpenAI.Chat.Completions.ChatCompletionMessageParam;

/** One assistant turn, streamed or not, reassembled into a message. */
async function turn(model: string, messages: Msg[], stream: boolean, toolChoice: OpenAI.Chat.Completions.ChatCompletionToolChoiceOption) {
  const client = gw.client();
  if (!stream) {
    const res = await client.chat.completions.create({ model, messages, tools, tool_choice: toolChoice });
    assert.equal(res.model, model);
    assert.ok(res.usage && res.usage.prompt_tokens > 0 && res.usage.completion_tokens > 0, 'usage is reported');
    return { message: res.choices[0]!.message, finish: res.choices[0]!.finish_reason, usage: res.usage };
  }
  const s = await client.chat.completions.create({ model, messages, tools, tool_choice: toolChoice, stream: true, stream_options: { include_usage: true } });
  let content = '';
  const calls = new Map<number, { id: string; name: string; args: string }>();
  let finish: string | null = null;
  let usage: OpenAI.CompletionUsage | undefined;
  let sawRole = false;
  for await (const chunk of s) {
    assert.equal(chunk.model, model);
    if (chunk.usage) usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) continue;
    if (choice.delta.role === 'assistant') sawRole = true;
    content += choice.delta.content ?? '';
    for (const tc of choice.delta.tool_calls ?? []) {
      const cur = calls.get(tc.index) ?? { id: '', name: '', args: '' };
      if (tc.id) cur.id = tc.id;
      if (tc.function?.name) cur.name = tc.function.name;
      cur.args += tc.function?.arguments ?? '';
      calls.set(tc.index, cur);
    }
    if (choice.finish_reason) {
      assert.equal(finish, null, 'finish_reason exactly once');
      finish = choice.finish_reason;
    }
  }
  assert.ok(sawRole, 'the stream starts with role: assistant');
  assert.ok(usage && usage.prompt_tokens > 0, 'usage chunk at the end');
  const toolCalls = [...calls.values()].map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.args } }));
  return {
    message: { role: 'assistant' as const, content: content || null, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) },
    finish,
    usage,
  };
}

const models = [
  { model: 'gpt-4o-mini', sim: 'openai-primary' },
  { model: 'claude-sonnet-4-5', sim: 'anthropic' },
  { model: 'gemini-2.5-flash', sim: 'gemini' },
];

describe('multi-turn tool calling through real Envoy, per dialect', () => {
  for (const { model, sim } of models) {
    for (const stream of [false, true]) {
      test(`${model} (${sim} wire format), ${stream ? 'streamed' : 'not streamed'}`, async () => {
        gw.sims[sim]!.reset();
        const messages: Msg[] = [{ role: 'user', content: "What's the weather like in Paris right now?" }];
        const first = await turn(model, messages, stream, 'required');
        assert.equal(first.finish, 'tool_calls');
        const call = first.message.tool_calls?.[0];
        assert.ok(call && call.type === 'function', JSON.stringify(first.message));
        assert.equal(call.function.name, 'get_weather');
        const args = JSON.parse(call.function.arguments) as { location: unknown; unit: unknown };
        assert.equal(typeof args.location, 'string');
        assert.ok(['celsius', 'fahrenheit'].includes(String(args.unit)));
        messages.push(first.message as Msg, { role: 'tool', tool_call_id: call.id, content: '{"temperature": 18, "unit": "celsius"}' });
        const second = await turn(model, messages, stream, 'auto');
        assert.equal(second.finish, 'stop');
        assert.ok(typeof second.message.content === 'string' && second.message.content.length > 0);
        // The provider received the conversation in its own wire format, on its own path.
        const reqs = gw.sims[sim]!.requests;
        assert.equal(reqs.length, 2);
        const path = reqs[1]!.path;
        if (sim === 'anthropic') assert.equal(path, '/v1/messages');
        else if (sim === 'gemini') assert.match(path, stream ? /:streamGenerateContent\?alt=sse$/ : /:generateContent$/);
        else assert.equal(path, '/v1/chat/completions');
      });
    }
  }
});

describe('failover across wire formats', () => {
  for (const stream of [false, true]) {
    test(`chat-default: Anthropic overloaded (529) → Gemini answers, ${stream ? 'streamed' : 'not streamed'}`, async () => {
      for (const s of Object.values(gw.sims)) s.reset();
      gw.sims['anthropic']!.enqueueFault({ status: 529 });
      const client = gw.client();
      let text = '';
      if (stream) {
        const s = await client.chat.completions.create({ model: 'chat-default', messages: [{ role: 'user', content: 'Hi there!' }], stream: true });
        for await (const c of s) text += c.choices[0]?.delta.content ?? '';
      } else {
        const res = await client.chat.completions.create({ model: 'chat-default', messages: [{ role: 'user', content: 'Hi there!' }] });
        assert.equal(res.model, 'chat-default');
        text = res.choices[0]!.message.content ?? '';
      }
      assert.ok(text.length > 0);
      assert.equal(gw.sims['anthropic']!.requests.length, 1);
      const g = gw.sims['gemini']!.requests;
      assert.equal(g.length, 1);
      // Translated afresh for Gemini: its path, its key header, its body shape.
      assert.match(g[0]!.path, /^\/v1beta\/models\/gemini-2\.5-flash:/);
      assert.ok(g[0]!.headers['x-goog-api-key']);
      assert.equal(g[0]!.headers['x-api-key'], undefined, 'the Anthropic key of the first attempt is gone');
      assert.equal(g[0]!.headers['anthropic-version'], undefined);
      assert.ok(Array.isArray((g[0]!.body as { contents?: unknown }).contents));
    });
  }

  test('an error event in the middle of an Anthropic stream becomes an OpenAI error event', async () => {
    for (const s of Object.values(gw.sims)) s.reset();
    gw.sims['anthropic']!.enqueueFault({ errorEventAfterEvents: 4 });
    const s = await gw.client().chat.completions.create({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'Hi' }], stream: true });
    await assert.rejects(
      async () => {
        for await (const c of s) void c;
      },
      (err: Error) => /overload|unavailable/i.test(err.message),
    );
  });

  test('Gemini 429 RESOURCE_EXHAUSTED: 429 with retry-after for the caller', async () => {
    for (const s of Object.values(gw.sims)) s.reset();
    gw.sims['gemini']!.enqueueFault({ status: 429, retryAfter: 17 });
    const res = await gw.raw('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.demoKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'Hi' }] }),
    });
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), '17');
    const body = (await res.json()) as { error: { type: string; message: string } };
    assert.equal(body.error.type, 'rate_limit_error');
    assert.ok(!/AIza|sim-gemini/.test(body.error.message));
  });

  test('a request Anthropic cannot take is a clear 400 naming the parameter, before any provider is called', async () => {
    for (const s of Object.values(gw.sims)) s.reset();
    const res = await gw.raw('/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.demoKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'claude-sonnet-4-5',
        messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }] }],
      }),
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { param: string; type: string } };
    assert.equal(body.error.type, 'invalid_request_error');
    assert.match(body.error.param, /^messages\[0\]\.content\[0\]/);
    assert.equal(gw.sims['anthropic']!.requests.length, 0);
  });
});

describe('reasoning_effort and sampling through real Envoy (the simulators enforce the providers\' rules)', () => {
  const hello: Msg[] = [{ role: 'user', content: 'Say hello.' }];
  const sentBody = (sim: string): Record<string, unknown> => gw.sims[sim]!.requests.at(-1)!.body as Record<string, unknown>;

  for (const stream of [false, true]) {
    test(`Claude thinks with a budget; its thinking blocks stay out of the answer, their tokens in the usage (${stream ? 'streamed' : 'not streamed'})`, async () => {
      gw.sims['anthropic']!.reset();
      const plain = await turn('claude-sonnet-4-5', hello, stream, 'none');
      const thought = await gw.client().chat.completions.create({ model: 'claude-sonnet-4-5', messages: hello, reasoning_effort: 'low' });
      assert.equal(thought.choices[0]!.message.content, plain.message.content, 'the answer is the same text, without the thinking');
      assert.ok(thought.usage!.completion_tokens > plain.usage!.completion_tokens, 'thinking tokens are billed as completion tokens');
      const body = sentBody('anthropic');
      assert.deepEqual(body['thinking'], { type: 'enabled', budget_tokens: 1024 });
      assert.ok(Number(body['max_tokens']) > 1024);
      if (stream) {
        const s = await gw.client().chat.completions.create({ model: 'claude-sonnet-4-5', messages: hello, reasoning_effort: 'low', stream: true });
        let text = '';
        for await (const chunk of s) text += chunk.choices[0]?.delta.content ?? '';
        assert.equal(text, plain.message.content);
      }
    });
  }

  test('a Claude tool loop the gateway kept no thinking for continues under reasoning_effort (thinking left off for that turn), and Gemini gets a thinking budget', async () => {
    const loop: Msg[] = [
      { role: 'user', content: "What's the weather in Paris?" },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris","unit":"celsius"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '{"temperature": 18}' },
    ];
    const res = await gw.client().chat.completions.create({ model: 'claude-sonnet-4-5', messages: loop, tools, reasoning_effort: 'high' });
    assert.equal(res.choices[0]!.finish_reason, 'stop');
    assert.equal('thinking' in sentBody('anthropic'), false);
    const gem = await gw.client().chat.completions.create({ model: 'gemini-2.5-flash', messages: hello, reasoning_effort: 'high' });
    assert.ok(gem.choices[0]!.message.content);
    assert.deepEqual((sentBody('gemini')['generationConfig'] as Record<string, unknown>)['thinkingConfig'], { thinkingBudget: 24576 });
  });

  test('temperature with top_p reaches Claude as temperature only; temperature with reasoning_effort is a 400 naming temperature', async () => {
    const res = await gw.client().chat.completions.create({ model: 'claude-sonnet-4-5', messages: hello, temperature: 0.4, top_p: 0.9 });
    assert.ok(res.choices[0]!.message.content);
    assert.equal(sentBody('anthropic')['temperature'], 0.4);
    assert.equal('top_p' in sentBody('anthropic'), false);
    const before = gw.sims['anthropic']!.requests.length;
    await assert.rejects(
      gw.client().chat.completions.create({ model: 'claude-sonnet-4-5', messages: hello, temperature: 0.4, reasoning_effort: 'low' }),
      (err: { status?: number; param?: string }) => err.status === 400 && err.param === 'temperature',
    );
    assert.equal(gw.sims['anthropic']!.requests.length, before, 'refused before any provider is called');
  });
});
