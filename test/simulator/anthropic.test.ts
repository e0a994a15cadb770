import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startSimProvider, type SimProvider } from '../../src/simulator/index.ts';
import { dataOf, fixture, post, sseEvents } from './helpers/client.ts';
import { assertFits, BOOKING_SCHEMA, WEATHER_SCHEMA } from './helpers/schema.ts';
import { assertSameShape, assertSubShape } from './helpers/sse-check.ts';

type Event = { type: string; index?: number; delta?: Record<string, unknown>; content_block?: Record<string, unknown>; usage?: Record<string, number>; message?: Record<string, unknown> };

const SYSTEM = 'You are a friendly support assistant for Northwind Outfitters. Keep answers short.';
const USER = 'Hi there!';
const textRequest = { model: 'claude-sonnet-4-5', max_tokens: 512, system: SYSTEM, messages: [{ role: 'user', content: USER }] };
const tools = [
  { name: 'get_weather', description: 'Get the weather.', input_schema: WEATHER_SCHEMA },
  { name: 'book_hotel', input_schema: BOOKING_SCHEMA },
];
const HEADERS = { 'x-api-key': 'sk-ant-test', 'anthropic-version': '2023-06-01' };

let sim: SimProvider;
const url = (): string => `${sim.url}/v1/messages`;

before(async () => {
  sim = await startSimProvider({ format: 'anthropic', apiKey: 'sk-ant-test' });
});
after(() => sim.close());

/** Event names in order, with content-block and delta kinds, e.g. `content_block_delta:text_delta`. */
function kinds(events: readonly Event[]): string[] {
  return events.map((e) => {
    const sub = e.content_block?.['type'] ?? e.delta?.['type'];
    return typeof sub === 'string' && e.type !== 'message_delta' ? `${e.type}:${sub}` : e.type;
  });
}

function parseStream(text: string): Event[] {
  const { events, rest } = sseEvents(text, '\n\n');
  assert.equal(rest, '');
  for (const e of events) {
    const m = /^event: ([a-z_]+)\ndata: (.+)$/.exec(e);
    assert.ok(m, `bad framing: ${JSON.stringify(e)}`);
    assert.equal(JSON.parse(m[2] ?? '').type, m[1]);
  }
  return dataOf(events) as Event[];
}

describe('anthropic simulator: JSON', () => {
  it('answers a compact message shaped like the recording, with usage', async () => {
    const r = await post(url(), textRequest, HEADERS);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.match(r.headers['request-id'] ?? '', /^req_011C/);
    assert.ok(!r.text.includes('\n'));
    const body = JSON.parse(r.text);
    assertSubShape(body, JSON.parse(fixture('anthropic/message_text.json')));
    assert.match(body.id, /^msg_01[A-Za-z0-9]{22}$/);
    assert.equal(body.model, 'claude-sonnet-4-5');
    assert.equal(body.stop_reason, 'end_turn');
    assert.ok(body.content[0].text.includes(USER));
    assert.equal(body.usage.input_tokens, Math.ceil((SYSTEM.length + USER.length) / 4));
    assert.equal(body.usage.output_tokens, Math.ceil(body.content[0].text.length / 4));
  });

  it('answers tool_choice any/tool with a tool_use that fits the schema', async () => {
    const body = JSON.parse((await post(url(), { ...textRequest, tools, tool_choice: { type: 'tool', name: 'book_hotel' } }, HEADERS)).text);
    const recorded = JSON.parse(fixture('anthropic/message_tool_use.json'));
    assertSubShape({ ...body, content: [] }, recorded);
    assert.equal(body.stop_reason, 'tool_use');
    const use = body.content[0];
    assertSameShape({ ...use, input: {} }, { ...recorded.content[1], input: {} });
    assert.match(use.id, /^toolu_01[A-Za-z0-9]{22}$/);
    assert.equal(use.name, 'book_hotel');
    assertFits(BOOKING_SCHEMA, use.input);
    const any = JSON.parse((await post(url(), { ...textRequest, tools, tool_choice: { type: 'any' } }, HEADERS)).text);
    assert.equal(any.content[0].name, 'get_weather');
  });

  it('answers a tool_result with text that mentions it', async () => {
    const messages = [
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_01abc', name: 'get_weather', input: { location: 'Paris' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01abc', content: '18 degrees and light rain' }] },
    ];
    const body = JSON.parse((await post(url(), { ...textRequest, messages, tools }, HEADERS)).text);
    assert.equal(body.stop_reason, 'end_turn');
    assert.match(body.content[0].text, /get_weather tool returned 18 degrees and light rain/);
  });

  it('reports max_tokens and stop_sequence stops', async () => {
    const cut = JSON.parse((await post(url(), { ...textRequest, max_tokens: 3 }, HEADERS)).text);
    assert.equal(cut.stop_reason, 'max_tokens');
    assert.equal(cut.usage.output_tokens, 3);
    const stopped = JSON.parse((await post(url(), { ...textRequest, stop_sequences: ['simulated'] }, HEADERS)).text);
    assert.equal(stopped.stop_reason, 'stop_sequence');
    assert.equal(stopped.stop_sequence, 'simulated');
  });
});

describe('anthropic simulator: stream', () => {
  it('frames event/data pairs in the recorded order with cumulative usage', async () => {
    const r = await post(url(), { ...textRequest, stream: true }, { ...HEADERS, 'x-sim-fault': '{"chunks":3}' });
    assert.equal(r.headers['content-type'], 'text/event-stream; charset=utf-8');
    const events = parseStream(r.text);
    const recorded = parseStream(fixture('anthropic/stream_text.sse'));
    assert.deepEqual(kinds(events), kinds(recorded));
    events.forEach((e, i) => assertSubShape(e, recorded[i]));
    assert.ok(r.text.includes('event: ping\ndata: {"type": "ping"}\n\n'));
    const text = events.map((e) => e.delta?.['text'] ?? '').join('');
    const json = JSON.parse((await post(url(), textRequest, HEADERS)).text);
    assert.equal(text, json.content[0].text);
    const start = events[0]?.message?.['usage'] as Record<string, number>;
    assert.equal(start['input_tokens'], json.usage.input_tokens);
    assert.equal(events.at(-2)?.usage?.['output_tokens'], json.usage.output_tokens);
  });

  it('streams tool_use input as input_json_delta fragments', async () => {
    const r = await post(url(), { ...textRequest, stream: true, tools, tool_choice: { type: 'any' } }, { ...HEADERS, 'x-sim-fault': '{"chunks":4}' });
    const events = parseStream(r.text);
    const recorded = parseStream(fixture('anthropic/stream_tool_use.sse'));
    assert.deepEqual(kinds(events), [
      'message_start',
      'content_block_start:tool_use',
      'ping',
      ...Array<string>(5).fill('content_block_delta:input_json_delta'),
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    const recordedToolStart = recorded.find((e) => e.content_block?.['type'] === 'tool_use');
    assertSameShape(events[1], recordedToolStart);
    const fragments = events.map((e) => e.delta?.['partial_json']).filter((f): f is string => typeof f === 'string');
    assert.equal(fragments[0], '');
    assertFits(WEATHER_SCHEMA, JSON.parse(fragments.join('')));
    assert.ok(fragments.join('').includes('": "'), 'fragments use the API spacing');
    assert.equal(events.at(-2)?.delta?.['stop_reason'], 'tool_use');
  });
});

describe('anthropic simulator: errors', () => {
  it('requires max_tokens like the real API', async () => {
    const r = await post(url(), { model: 'm', messages: [{ role: 'user', content: 'q' }] }, HEADERS);
    assert.equal(r.status, 400);
    assert.deepEqual(JSON.parse(r.text).error, { type: 'invalid_request_error', message: 'max_tokens: Field required' });
  });

  it('validates tool_use / tool_result pairing and empty text blocks', async () => {
    const orphan = await post(url(), { ...textRequest, messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_x', content: 'r' }] }] }, HEADERS);
    assert.equal(orphan.status, 400);
    assert.match(JSON.parse(orphan.text).error.message, /unexpected `tool_use_id` found in `tool_result` blocks: toolu_x/);
    const unanswered = await post(
      url(),
      { ...textRequest, messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_y', name: 'get_weather', input: {} }] }, { role: 'user', content: 'hm' }] },
      HEADERS,
    );
    assert.match(JSON.parse(unanswered.text).error.message, /`tool_use` ids were found without `tool_result` blocks immediately after: toolu_y/);
    const badId = await post(url(), { ...textRequest, messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: [{ type: 'tool_use', id: 'call.1', name: 'f', input: {} }] }] }, HEADERS);
    assert.match(JSON.parse(badId.text).error.message, /tool_use\.id: String should match pattern/);
    const empty = await post(url(), { ...textRequest, messages: [{ role: 'user', content: [{ type: 'text', text: '' }] }] }, HEADERS);
    assert.equal(JSON.parse(empty.text).error.message, 'messages: text content blocks must be non-empty');
  });

  it('checks x-api-key and anthropic-version', async () => {
    const none = await post(url(), textRequest, { 'anthropic-version': '2023-06-01' });
    assert.equal(none.status, 401);
    assert.equal(JSON.parse(none.text).error.type, 'authentication_error');
    const wrong = await post(url(), textRequest, { 'x-api-key': 'nope', 'anthropic-version': '2023-06-01' });
    assert.equal(JSON.parse(wrong.text).error.message, 'invalid x-api-key');
    const noVersion = await post(url(), textRequest, { 'x-api-key': 'sk-ant-test' });
    assert.equal(noVersion.status, 400);
    assert.match(JSON.parse(noVersion.text).error.message, /anthropic-version/);
  });

  it('answers unknown paths with not_found_error', async () => {
    const r = await post(`${sim.url}/v1/complete`, textRequest, HEADERS);
    assert.equal(r.status, 404);
    assert.equal(JSON.parse(r.text).error.type, 'not_found_error');
  });

  it('injects 529 overloaded and 429 rate_limit exactly like the recordings', async () => {
    const r = await post(url(), textRequest, { ...HEADERS, 'x-sim-fault': '{"status":529}' });
    assert.equal(r.status, 529);
    assert.equal(r.headers['x-should-retry'], 'true');
    const body = JSON.parse(r.text);
    const recorded = JSON.parse(fixture('anthropic/error_overloaded.json'));
    assert.deepEqual({ ...body, request_id: '' }, { ...recorded, request_id: '' });
    assert.equal(r.text, JSON.stringify(body));
    const limited = await post(url(), textRequest, { ...HEADERS, 'x-sim-fault': '{"status":429,"retryAfter":18}' });
    assert.equal(limited.status, 429);
    assert.equal(limited.headers['retry-after'], '18');
    assertSameShape(JSON.parse(limited.text), JSON.parse(fixture('anthropic/error_rate_limit.json')));
    assert.equal(JSON.parse(limited.text).error.type, 'rate_limit_error');
  });
});

describe('anthropic simulator: sampling and extended thinking rules', () => {
  const bad = async (body: object): Promise<string> => {
    const r = await post(url(), body, HEADERS);
    assert.equal(r.status, 400, r.text);
    return JSON.parse(r.text).error.message as string;
  };
  const thinking = { type: 'enabled', budget_tokens: 1024 };

  it('refuses temperature and top_p together, as Sonnet 4.5 does', async () => {
    assert.match(await bad({ ...textRequest, temperature: 0.5, top_p: 0.9 }), /`temperature` and `top_p` cannot both be specified/);
  });

  it('refuses what extended thinking cannot take', async () => {
    assert.match(await bad({ ...textRequest, thinking: { type: 'enabled', budget_tokens: 500 } }), /greater than or equal to 1024/);
    assert.match(await bad({ ...textRequest, max_tokens: 1024, thinking }), /`max_tokens` must be greater than `thinking.budget_tokens`/);
    assert.match(await bad({ ...textRequest, max_tokens: 4096, thinking, temperature: 0.2 }), /temperature/);
    assert.match(await bad({ ...textRequest, max_tokens: 4096, thinking, top_p: 0.5 }), /top_p/);
    assert.match(await bad({ ...textRequest, max_tokens: 4096, thinking, tools, tool_choice: { type: 'any' } }), /forces tool use/);
    const loop = [
      { role: 'user', content: 'q' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '18 C' }] },
    ];
    assert.match(await bad({ ...textRequest, max_tokens: 4096, thinking, tools, messages: loop }), /must start with a thinking block/);
  });

  it('answers with a signed thinking block first, JSON and stream, and bills its tokens', async () => {
    const plain = JSON.parse((await post(url(), textRequest, HEADERS)).text);
    const json = JSON.parse((await post(url(), { ...textRequest, max_tokens: 4096, thinking }, HEADERS)).text);
    assert.equal(json.content[0].type, 'thinking');
    assert.ok(json.content[0].thinking.length > 0 && json.content[0].signature.length > 0);
    assert.deepEqual(json.content[1], plain.content[0]);
    assert.ok(json.usage.output_tokens > plain.usage.output_tokens);
    const r = await post(url(), { ...textRequest, max_tokens: 4096, thinking, stream: true }, HEADERS);
    const events = parseStream(r.text);
    const k = kinds(events);
    assert.deepEqual(k.slice(0, 3), ['message_start', 'content_block_start:thinking', 'ping']);
    assert.ok(k.includes('content_block_delta:thinking_delta') && k.includes('content_block_delta:signature_delta'));
    const textStart = events.find((e) => e.content_block?.['type'] === 'text');
    assert.equal(textStart?.index, 1);
    assert.equal(events.filter((e) => e.delta?.['type'] === 'text_delta').map((e) => e.delta?.['text']).join(''), plain.content[0].text);
  });
});
