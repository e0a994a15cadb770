import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startSimProvider, type SimProvider } from '../../src/simulator/index.ts';
import { dataOf, fixture, post, sseEvents } from './helpers/client.ts';
import { assertFits, BOOKING_SCHEMA, WEATHER_SCHEMA } from './helpers/schema.ts';
import { assertSameShape, assertSubShape } from './helpers/sse-check.ts';

interface Chunk {
  id: string;
  created: number;
  model: string;
  choices: { delta: Record<string, unknown>; finish_reason: string | null }[];
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null;
}

const SYSTEM = 'You are a friendly support assistant for Northwind Outfitters. Keep answers short.';
const USER = 'Hi there!';
const textRequest = { model: 'gpt-4.1-mini', messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: USER }] };
const tools = [
  { type: 'function', function: { name: 'get_weather', description: 'Get the weather.', parameters: WEATHER_SCHEMA } },
  { type: 'function', function: { name: 'book_hotel', parameters: BOOKING_SCHEMA } },
];

let sim: SimProvider;
let keyed: SimProvider;
const url = (s: SimProvider = sim): string => `${s.url}/v1/chat/completions`;

before(async () => {
  sim = await startSimProvider({ format: 'openai' });
  keyed = await startSimProvider({ format: 'openai', apiKey: 'sk-test-123456789' });
});
after(async () => {
  await sim.close();
  await keyed.close();
});

describe('openai simulator: JSON', () => {
  it('answers chat.completion pretty-printed, shaped like the recorded fixture', async () => {
    const r = await post(url(), textRequest);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.match(r.headers['x-request-id'] ?? '', /^req_/);
    assert.ok(r.text.startsWith('{\n  "id": "chatcmpl-'));
    const body = JSON.parse(r.text);
    assertSameShape(body, JSON.parse(fixture('openai/chat_text.json')));
    assert.deepEqual(Object.keys(body), Object.keys(JSON.parse(fixture('openai/chat_text.json'))));
    assert.equal(body.model, 'gpt-4.1-mini');
    assert.equal(body.choices[0].finish_reason, 'stop');
    const content: string = body.choices[0].message.content;
    assert.ok(content.includes(USER));
    assert.equal(body.usage.prompt_tokens, Math.ceil((SYSTEM.length + USER.length) / 4));
    assert.equal(body.usage.completion_tokens, Math.ceil(content.length / 4));
    assert.equal(body.usage.total_tokens, body.usage.prompt_tokens + body.usage.completion_tokens);
  });

  it('answers a required tool call with arguments that fit the schema', async () => {
    const r = await post(url(), { ...textRequest, tools, tool_choice: { type: 'function', function: { name: 'book_hotel' } } });
    const body = JSON.parse(r.text);
    assertSameShape(body, JSON.parse(fixture('openai/chat_tool_calls.json')));
    const msg = body.choices[0].message;
    assert.equal(msg.content, null);
    assert.equal(body.choices[0].finish_reason, 'tool_calls');
    assert.match(msg.tool_calls[0].id, /^call_[A-Za-z0-9]{24}$/);
    assert.equal(msg.tool_calls[0].function.name, 'book_hotel');
    assertFits(BOOKING_SCHEMA, JSON.parse(msg.tool_calls[0].function.arguments));
    const required = JSON.parse((await post(url(), { ...textRequest, tools, tool_choice: 'required' })).text);
    assert.equal(required.choices[0].message.tool_calls[0].function.name, 'get_weather');
  });

  it('answers a tool result with text that mentions it', async () => {
    const messages = [
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '{"temperature":18,"conditions":"light rain"}' },
    ];
    const body = JSON.parse((await post(url(), { model: 'm', messages, tools, tool_choice: 'auto' })).text);
    assert.equal(body.choices[0].finish_reason, 'stop');
    assert.match(body.choices[0].message.content, /get_weather tool returned \{"temperature":18,"conditions":"light rain"\}/);
  });

  it('refuses tool-call ids over 40 characters, as the API does, in tool_calls and in tool messages', async () => {
    const call = (id: string) => ({ role: 'assistant', content: null, tool_calls: [{ id, type: 'function', function: { name: 'get_weather', arguments: '{}' } }] });
    const long = `call_${'a'.repeat(36)}`;
    const ok = `call_${'a'.repeat(35)}`;
    const messages = (callId: string, resultId: string) => [{ role: 'user', content: 'Weather?' }, call(callId), { role: 'tool', tool_call_id: resultId, content: '18' }];
    assert.equal((await post(url(), { model: 'm', messages: messages(ok, ok), tools })).status, 200);
    const inCall = await post(url(), { model: 'm', messages: messages(long, ok), tools });
    assert.equal(inCall.status, 400);
    assert.deepEqual(JSON.parse(inCall.text).error, {
      message: "Invalid 'messages[1].tool_calls[0].id': string too long. Expected a string with maximum length 40, but got a string with length 41 instead.",
      type: 'invalid_request_error',
      param: 'messages[1].tool_calls[0].id',
      code: 'string_above_max_length',
    });
    const inResult = await post(url(), { model: 'm', messages: [...messages(ok, ok).slice(0, 2), { role: 'tool', tool_call_id: long, content: '18' }], tools });
    assert.equal(inResult.status, 400);
    assert.equal(JSON.parse(inResult.text).error.param, 'messages[2].tool_call_id');
  });

  it('honours max_completion_tokens and stop', async () => {
    const cut = JSON.parse((await post(url(), { ...textRequest, max_completion_tokens: 4 })).text);
    assert.equal(cut.choices[0].finish_reason, 'length');
    assert.equal(cut.usage.completion_tokens, 4);
    const stopped = JSON.parse((await post(url(), { ...textRequest, stop: ['simulated'] })).text);
    assert.equal(stopped.choices[0].finish_reason, 'stop');
    assert.ok(!stopped.choices[0].message.content.includes('simulated'));
  });
});

describe('openai simulator: stream', () => {
  it('frames data-only SSE with role chunk, content, finish, usage chunk and [DONE]', async () => {
    const r = await post(url(), { ...textRequest, stream: true, stream_options: { include_usage: true } }, { 'x-sim-fault': '{"chunks":5}' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/event-stream; charset=utf-8');
    const { events, rest } = sseEvents(r.text, '\n\n');
    assert.equal(rest, '');
    assert.equal(events.at(-1), 'data: [DONE]');
    for (const e of events) assert.match(e, /^data: [^\n]+$/);
    const chunks = dataOf(events) as Chunk[];
    const recorded = dataOf(sseEvents(fixture('openai/stream_text.sse'), '\n\n').events) as Chunk[];
    assert.equal(chunks.length, 1 + 5 + 1 + 1);
    assert.deepEqual(chunks[0]?.choices[0]?.delta, { role: 'assistant', content: '', refusal: null });
    assertSameShape(chunks[0], recorded[0]);
    assertSameShape(chunks[1], recorded[1]);
    assertSameShape(chunks.at(-2), recorded.at(-2));
    assertSameShape(chunks.at(-1), recorded.at(-1));
    assert.equal(new Set(chunks.map((c) => c.id)).size, 1);
    assert.equal(new Set(chunks.map((c) => c.created)).size, 1);
    for (const c of chunks.slice(0, -1)) assert.equal(c.usage, null);
    const last = chunks.at(-1);
    assert.deepEqual(last?.choices, []);
    const text = chunks.map((c) => c.choices[0]?.delta['content'] ?? '').join('');
    const json = JSON.parse((await post(url(), textRequest)).text);
    assert.equal(text, json.choices[0].message.content);
    assert.equal(chunks.at(-2)?.choices[0]?.finish_reason, 'stop');
    assert.deepEqual(last?.usage && { p: last.usage.prompt_tokens, c: last.usage.completion_tokens }, { p: json.usage.prompt_tokens, c: json.usage.completion_tokens });
  });

  it('sends no usage at all without include_usage', async () => {
    const r = await post(url(), { ...textRequest, stream: true });
    const chunks = dataOf(sseEvents(r.text, '\n\n').events) as Chunk[];
    for (const c of chunks) assert.ok(!('usage' in c));
    assert.equal(chunks.at(-1)?.choices[0]?.finish_reason, 'stop');
  });

  it('streams tool-call arguments in fragments that concatenate to schema-fitting JSON', async () => {
    const r = await post(url(), { ...textRequest, stream: true, stream_options: { include_usage: true }, tools, tool_choice: 'required' }, { 'x-sim-fault': '{"chunks":6}' });
    const chunks = dataOf(sseEvents(r.text, '\n\n').events) as Chunk[];
    const recorded = dataOf(sseEvents(fixture('openai/stream_tool_calls.sse'), '\n\n').events) as Chunk[];
    assertSameShape(chunks[0], recorded[0]);
    assertSameShape(chunks[1], recorded[1]);
    type Call = { index: number; id?: string; function: { name?: string; arguments: string } };
    const calls = chunks.flatMap((c) => (c.choices[0]?.delta['tool_calls'] as Call[] | undefined) ?? []);
    assert.equal(calls.length, 7);
    assert.match(calls[0]?.id ?? '', /^call_/);
    assert.equal(calls[0]?.function.name, 'get_weather');
    assertFits(WEATHER_SCHEMA, JSON.parse(calls.map((c) => c.function.arguments).join('')));
    assert.equal(chunks.at(-2)?.choices[0]?.finish_reason, 'tool_calls');
  });
});

describe('openai simulator: errors', () => {
  it('rejects a wrong path with 404 Invalid URL', async () => {
    const r = await post(`${sim.url}/v1/completions`, textRequest);
    assert.equal(r.status, 404);
    assert.deepEqual(JSON.parse(r.text), { error: { message: 'Invalid URL (POST /v1/completions)', type: 'invalid_request_error', param: null, code: null } });
  });

  it('rejects malformed JSON and missing fields with 400', async () => {
    const bad = await post(url(), '{"model":');
    assert.equal(bad.status, 400);
    assert.equal(JSON.parse(bad.text).error.type, 'invalid_request_error');
    const missing = JSON.parse((await post(url(), { model: 'm' })).text);
    assert.deepEqual(missing.error, { message: "Missing required parameter: 'messages'.", type: 'invalid_request_error', param: 'messages', code: 'missing_required_parameter' });
    const orphan = await post(url(), { model: 'm', messages: [{ role: 'tool', tool_call_id: 'call_x', content: 'r' }] });
    assert.equal(orphan.status, 400);
    assert.match(JSON.parse(orphan.text).error.message, /must be a response to a preceeding message with 'tool_calls'/);
    const unanswered = await post(url(), { model: 'm', messages: [{ role: 'user', content: 'q' }, { role: 'assistant', tool_calls: [{ id: 'call_a', type: 'function', function: { name: 'f', arguments: '{}' } }] }, { role: 'user', content: 'q' }] });
    assert.match(JSON.parse(unanswered.text).error.message, /did not have response messages: call_a/);
  });

  it('checks Authorization: Bearer', async () => {
    const none = await post(url(keyed), textRequest);
    assert.equal(none.status, 401);
    assert.equal(JSON.parse(none.text).error.code, null);
    const wrong = await post(url(keyed), textRequest, { authorization: 'Bearer sk-wrong-987654321' });
    assert.equal(wrong.status, 401);
    assert.equal(JSON.parse(wrong.text).error.code, 'invalid_api_key');
    assert.ok(!JSON.parse(wrong.text).error.message.includes('sk-wrong-987654321'));
    const ok = await post(url(keyed), textRequest, { authorization: 'Bearer sk-test-123456789' });
    assert.equal(ok.status, 200);
  });

  it('injects status errors shaped like the recorded 429, with retry-after', async () => {
    const r = await post(url(), textRequest, { 'x-sim-fault': '{"status":429,"retryAfter":2}' });
    assert.equal(r.status, 429);
    assert.equal(r.headers['retry-after'], '2');
    const body = JSON.parse(r.text);
    assertSameShape(body, JSON.parse(fixture('openai/error_rate_limit.json')));
    assert.equal(body.error.code, 'rate_limit_exceeded');
    const overloaded = JSON.parse((await post(url(), textRequest, { 'x-sim-fault': '{"status":503}' })).text);
    assert.equal(overloaded.error.type, 'service_unavailable_error');
    assertSubShape(overloaded, JSON.parse(fixture('openai/error_rate_limit.json')));
  });
});
