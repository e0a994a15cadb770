import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type OpenAI from 'openai';
import { PLACEHOLDER_THOUGHT_SIGNATURE } from '../../src/dialects/gemini/tool-call-ids.ts';
import { checkThoughtSignature } from '../../src/simulator/providers/gemini/thought-signature.ts';
import { startTestStack, type TestStack } from '../support/e2e.ts';

// Issue 7 item 4: tool calls that travel between providers, through the real Envoy with the
// official SDK. The simulators enforce each provider's id rules (OpenAI: ≤ 40 characters;
// Anthropic: ^[a-zA-Z0-9_-]+$; Gemini: a signature it issued, or Google's placeholder, on the
// first functionCall of every model turn), so a regression is a 400 here.

type Msg = OpenAI.Chat.Completions.ChatCompletionMessageParam;
type Body = Record<string, unknown>;
type GeminiContents = Array<{ role: string; parts: Array<Record<string, unknown>> }>;

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
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
    },
  },
];

const lastBody = (sim: string): Body => {
  const body = gw.sims[sim]!.requests.at(-1)?.body;
  assert.ok(body && typeof body === 'object', `${sim} received a JSON request`);
  return body as Body;
};

/** One non-stream turn; returns the assistant message as the SDK gives it. */
async function ask(model: string, messages: Msg[], toolChoice?: 'required'): Promise<OpenAI.Chat.Completions.ChatCompletionMessage> {
  const res = await gw.client().chat.completions.create({ model, messages, tools, ...(toolChoice ? { tool_choice: toolChoice } : {}) });
  assert.equal(res.model, model);
  return res.choices[0]!.message;
}

/** A streamed tool-call turn, reassembled the way SDK users do. */
async function askStreamed(model: string, messages: Msg[]): Promise<OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall> {
  const stream = await gw.client().chat.completions.create({ model, messages, tools, tool_choice: 'required', stream: true });
  const call = { id: '', name: '', args: '' };
  for await (const chunk of stream) {
    for (const tc of chunk.choices[0]?.delta.tool_calls ?? []) {
      call.id ||= tc.id ?? '';
      call.name += tc.function?.name ?? '';
      call.args += tc.function?.arguments ?? '';
    }
  }
  return { id: call.id, type: 'function', function: { name: call.name, arguments: call.args } };
}

const assistantCall = (call: OpenAI.Chat.Completions.ChatCompletionMessageToolCall): Msg => ({ role: 'assistant', content: null, tool_calls: [call] });
const toolResult = (id: string, content: string): Msg => ({ role: 'tool', tool_call_id: id, content });

test('a tool conversation moves Gemini → OpenAI → Anthropic → Gemini; every provider gets ids it accepts', async () => {
  for (const s of Object.values(gw.sims)) s.reset();
  const messages: Msg[] = [{ role: 'user', content: 'What is the weather in Paris?' }];

  // Gemini calls the tool: the id the gateway mints carries the thought signature (~160 chars).
  const gemini = await askStreamed('gemini-2.5-flash', messages);
  assert.match(gemini.id, /^call_[A-Za-z0-9]{24}_ts_[A-Za-z0-9_-]+$/);
  assert.ok(gemini.id.length > 40, 'the minted id is longer than OpenAI takes');
  assert.equal(gemini.function.name, 'get_weather');
  messages.push(assistantCall(gemini), toolResult(gemini.id, '{"temp_c":18}'));

  // OpenAI answers the Gemini tool result: it must see an id of at most 40 characters, the same
  // on the assistant's tool call and on the tool message.
  const openaiText = await ask('gpt-4o-mini', messages);
  assert.match(openaiText.content ?? '', /get_weather tool returned \{"temp_c":18\}/);
  const sentToOpenAI = lastBody('openai-primary')['messages'] as Array<Record<string, unknown>>;
  const mapped = (sentToOpenAI[1]!['tool_calls'] as Array<{ id: string }>)[0]!.id;
  assert.match(mapped, /^call_[A-Za-z0-9]{24}$/);
  assert.equal(sentToOpenAI[2]!['tool_call_id'], mapped);
  messages.push({ role: 'assistant', content: openaiText.content }, { role: 'user', content: 'And in Oslo?' });

  // OpenAI calls the tool itself: its own call_… id reaches the caller unchanged.
  const openai = (await ask('gpt-4o-mini', messages, 'required')).tool_calls?.[0];
  assert.ok(openai?.type === 'function');
  assert.match(openai.id, /^call_[A-Za-z0-9]{24}$/);
  messages.push(assistantCall(openai), toolResult(openai.id, '{"temp_c":4}'));

  // Anthropic gets the whole history: the Gemini and OpenAI ids fit its pattern as they are.
  const claudeText = await ask('claude-sonnet-4-5', messages);
  assert.match(claudeText.content ?? '', /get_weather tool returned \{"temp_c":4\}/);
  const sentToClaude = lastBody('anthropic')['messages'] as Array<{ role: string; content: Array<Record<string, unknown>> | string }>;
  const uses = sentToClaude.flatMap((m) => (Array.isArray(m.content) ? m.content : [])).filter((b) => b['type'] === 'tool_use');
  assert.deepEqual(uses.map((b) => b['id']), [gemini.id, openai.id]);
  messages.push({ role: 'assistant', content: claudeText.content }, { role: 'user', content: 'And in Rome?' });

  const claude = (await ask('claude-sonnet-4-5', messages, 'required')).tool_calls?.[0];
  assert.ok(claude?.type === 'function');
  assert.match(claude.id, /^toolu_[A-Za-z0-9]+$/);
  messages.push(assistantCall(claude), toolResult(claude.id, '{"temp_c":21}'));

  // Back on Gemini: its own signature returns exactly (the simulator checks it issued it), the
  // OpenAI and Anthropic turns carry Google's placeholder.
  const geminiText = await ask('gemini-2.5-flash', messages);
  assert.match(geminiText.content ?? '', /get_weather tool returned \{"temp_c":21\}/);
  const contents = lastBody('gemini')['contents'] as GeminiContents;
  const signatures = contents.filter((c) => c.role === 'model' && c.parts.some((p) => p['functionCall'])).map((c) => c.parts[0]?.['thoughtSignature']);
  assert.equal(signatures.length, 3);
  assert.equal(typeof signatures[0], 'string');
  assert.notEqual(signatures[0], PLACEHOLDER_THOUGHT_SIGNATURE);
  assert.equal(checkThoughtSignature(String(signatures[0])), 'valid');
  assert.deepEqual(signatures.slice(1), [PLACEHOLDER_THOUGHT_SIGNATURE, PLACEHOLDER_THOUGHT_SIGNATURE]);
});

const caseBody = (file: string): OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming =>
  JSON.parse(readFileSync(new URL(`../fixtures/cases/gemini-foreign-tool-call/${file}`, import.meta.url), 'utf8')) as OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming;

function assertPlaceholderSent(): void {
  const contents = lastBody('gemini')['contents'] as GeminiContents;
  assert.equal(contents[1]?.role, 'model');
  assert.equal(contents[1]?.parts[0]?.['thoughtSignature'], PLACEHOLDER_THOUGHT_SIGNATURE);
}

test('cases/gemini-foreign-tool-call/request-client-ids.json: a client-made id reaches Gemini with the placeholder, 200', async () => {
  for (const s of Object.values(gw.sims)) s.reset();
  const res = await gw.client().chat.completions.create(caseBody('request-client-ids.json'));
  assert.equal(res.choices[0]!.finish_reason, 'stop');
  assert.match(res.choices[0]!.message.content ?? '', /get_time tool returned/);
  assertPlaceholderSent();
});

test('cases/gemini-foreign-tool-call/request-after-failover.json: Claude is overloaded, the toolu_ turn fails over to Gemini, 200', async () => {
  for (const s of Object.values(gw.sims)) s.reset();
  gw.sims['anthropic']!.enqueueFault({ status: 529 });
  const res = await gw.client().chat.completions.create(caseBody('request-after-failover.json'));
  assert.equal(res.model, 'chat-default');
  assert.match(res.choices[0]!.message.content ?? '', /get_weather tool returned \{"temp_c":4\}/);
  assert.equal(gw.sims['anthropic']!.requests.length, 1, 'Claude was tried first');
  assertPlaceholderSent();
});
