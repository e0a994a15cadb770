import assert from 'node:assert/strict';
import { test } from 'node:test';
import { anthropicDialect } from '../../../src/dialects/anthropic/index.ts';
import { sanitizeToolId } from '../../../src/dialects/anthropic/tool-ids.ts';
import { anthropicBody, assertInvalid, chatRequest, fixtureJson, TARGET } from './helpers.ts';

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';
const weatherTool = {
  type: 'function',
  function: { name: 'get_weather', parameters: { type: 'object', properties: { location: { type: 'string' } } } },
};
const hi = { role: 'user', content: 'Hi' };

for (const name of ['text_stream', 'tool_roundtrip']) {
  test(`golden: requests/openai_${name} → expected/anthropic_${name}`, () => {
    const body = fixtureJson(`requests/openai_${name}.request.json`) as Record<string, unknown>;
    assert.deepEqual(anthropicBody(body), fixtureJson(`expected/anthropic_${name}.request.json`));
  });
}

test('path, headers and UTF-8 body', () => {
  const upstream = anthropicDialect.buildRequest(chatRequest({ messages: [{ role: 'user', content: 'héllo 😀' }] }), TARGET);
  assert.equal(upstream.path, '/messages');
  assert.deepEqual(upstream.headers, { 'anthropic-version': '2023-06-01', 'content-type': 'application/json' });
  assert.ok(upstream.body instanceof Uint8Array);
  assert.match(new TextDecoder('utf-8', { fatal: true }).decode(upstream.body), /héllo 😀/);
});

test('max_tokens: max_completion_tokens, then max_tokens, then the target default', () => {
  assert.equal(anthropicBody({ messages: [hi], max_completion_tokens: 7, max_tokens: 9 })['max_tokens'], 7);
  assert.equal(anthropicBody({ messages: [hi], max_tokens: 9 })['max_tokens'], 9);
  assert.equal(anthropicBody({ messages: [hi] })['max_tokens'], TARGET.defaultMaxTokens);
});

test('system and developer messages are hoisted: a string when one, text blocks when several', () => {
  const body = anthropicBody({
    messages: [
      { role: 'system', content: 'A' },
      { role: 'developer', content: [{ type: 'text', text: 'B' }, { type: 'text', text: '' }] },
      hi,
      { role: 'system', content: 'C' },
    ],
  });
  assert.deepEqual(body['system'], [
    { type: 'text', text: 'A' },
    { type: 'text', text: 'B' },
    { type: 'text', text: 'C' },
  ]);
  assert.deepEqual(body['messages'], [{ role: 'user', content: 'Hi' }]);
  assert.equal(anthropicBody({ messages: [{ role: 'system', content: 'only' }, hi] })['system'], 'only');
  assert.equal('system' in anthropicBody({ messages: [hi] }), false);
});

test('consecutive same-role messages merge into one turn; empty messages vanish', () => {
  const body = anthropicBody({
    messages: [
      { role: 'user', content: 'a' },
      { role: 'user', content: [{ type: 'text', text: 'b' }] },
      { role: 'assistant', content: 'c' },
      { role: 'user', content: '' },
      { role: 'assistant', content: [{ type: 'text', text: '  ' }, { type: 'refusal', refusal: 'd' }] },
      { role: 'user', content: 'e' },
    ],
  });
  assert.deepEqual(body['messages'], [
    { role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] },
    { role: 'assistant', content: [{ type: 'text', text: 'c' }, { type: 'text', text: 'd' }] },
    { role: 'user', content: 'e' },
  ]);
});

test('a final assistant prefill loses trailing whitespace, which Anthropic rejects', () => {
  const body = anthropicBody({ messages: [hi, { role: 'assistant', content: 'Sure: ' }] });
  assert.deepEqual(body['messages'], [hi, { role: 'assistant', content: 'Sure:' }]);
});

test('sampling and misc parameters', () => {
  const body = anthropicBody({
    messages: [hi],
    temperature: 1,
    top_p: 0.5,
    stop: 'END',
    user: 'u-1',
    stream: true,
    n: 1,
    seed: 3,
    presence_penalty: 1,
    frequency_penalty: 1,
    logit_bias: { '50256': -100 },
    store: true,
    stream_options: { include_usage: true },
  });
  assert.deepEqual(body, {
    model: TARGET.providerModel,
    max_tokens: TARGET.defaultMaxTokens,
    messages: [hi],
    temperature: 1,
    stop_sequences: ['END'],
    metadata: { user_id: 'u-1' },
    stream: true,
  });
  assert.equal('stream' in anthropicBody({ messages: [hi], stream: false }), false);
  assert.equal('stop_sequences' in anthropicBody({ messages: [hi], stop: [] }), false);
});

test('images: data URLs → base64 blocks, http(s) URLs → url blocks', () => {
  const body = anthropicBody({
    messages: [
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}`, detail: 'high' } },
          { type: 'image_url', image_url: { url: `data:image/JPG;base64,${PNG}` } },
          { type: 'image_url', image_url: { url: 'https://example.com/cat.webp' } },
        ],
      },
    ],
  });
  assert.deepEqual(body['messages'], [
    {
      role: 'user',
      content: [
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
        { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: PNG } },
        { type: 'image', source: { type: 'url', url: 'https://example.com/cat.webp' } },
      ],
    },
  ]);
});

test('bad images → 400 naming the url param', () => {
  const withImage = (url: string) => ({
    messages: [{ role: 'system', content: 's' }, hi, { role: 'user', content: [{ type: 'text', text: 'x' }, { type: 'image_url', image_url: { url } }] }],
  });
  const param = 'messages[2].content[1].image_url.url';
  assertInvalid(withImage('ftp://example.com/a.png'), param);
  assertInvalid(withImage('not a url'), param);
  assertInvalid(withImage('file:///etc/passwd'), param);
  assertInvalid(withImage(`data:image/bmp;base64,${PNG}`), param);
  assertInvalid(withImage('data:image/png,rawbytes'), param);
  assertInvalid(withImage('data:image/png;base64,@@@'), param);
  assertInvalid(withImage('data:image/png;base64,'), param);
});

test('audio, file and unknown parts → 400 naming the part', () => {
  assertInvalid({ messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }, { type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }] }] }, 'messages[0].content[1]');
  assertInvalid({ messages: [hi, { role: 'assistant', content: 'a' }, { role: 'user', content: [{ type: 'file', file: { file_id: 'f' } }] }] }, 'messages[2].content[0]');
  assertInvalid({ messages: [{ role: 'user', content: [{ type: 'input_video' }] }] }, 'messages[0].content[0]');
  assertInvalid({ messages: [{ role: 'system', content: [{ type: 'image_url', image_url: { url: 'https://x/y.png' } }] }, hi] }, 'messages[0].content[0]');
  assertInvalid({ messages: [hi, { role: 'assistant', content: [{ type: 'image_url', image_url: { url: 'https://x/y.png' } }] }] }, 'messages[1].content[0]');
});

test('tools: schema defaults, descriptions, strict; non-object schemas → 400', () => {
  const body = anthropicBody({
    messages: [hi],
    tools: [
      weatherTool,
      { type: 'function', function: { name: 'now', description: 'Time', strict: true } },
      { type: 'function', function: { name: 'p', parameters: { properties: { a: { type: 'string' } } } } },
      { type: 'function', function: { name: 'q', parameters: {} } },
    ],
  });
  assert.deepEqual(body['tools'], [
    { name: 'get_weather', input_schema: weatherTool.function.parameters },
    { name: 'now', description: 'Time', input_schema: { type: 'object', properties: {} }, strict: true },
    { name: 'p', input_schema: { type: 'object', properties: { a: { type: 'string' } } } },
    { name: 'q', input_schema: { type: 'object', properties: {} } },
  ]);
  assert.equal('tool_choice' in body, false);
  assertInvalid({ messages: [hi], tools: [weatherTool, { type: 'function', function: { name: 'x', parameters: { type: 'string' } } }] }, 'tools[1].function.parameters');
  assertInvalid({ messages: [hi], tools: [{ type: 'custom', custom: { name: 'x' } }] }, 'tools[0].type');
  assert.equal('tools' in anthropicBody({ messages: [hi], tools: [] }), false);
});

test('tool_choice and parallel_tool_calls', () => {
  const choice = (extra: Record<string, unknown>) => anthropicBody({ messages: [hi], tools: [weatherTool], ...extra })['tool_choice'];
  assert.deepEqual(choice({ tool_choice: 'auto' }), { type: 'auto' });
  assert.deepEqual(choice({ tool_choice: 'required' }), { type: 'any' });
  assert.deepEqual(choice({ tool_choice: 'none' }), { type: 'none' });
  assert.deepEqual(choice({ tool_choice: { type: 'function', function: { name: 'get_weather' } } }), { type: 'tool', name: 'get_weather' });
  assert.deepEqual(choice({ tool_choice: 'required', parallel_tool_calls: false }), { type: 'any', disable_parallel_tool_use: true });
  assert.deepEqual(choice({ parallel_tool_calls: false }), { type: 'auto', disable_parallel_tool_use: true });
  assert.deepEqual(choice({ tool_choice: 'none', parallel_tool_calls: false }), { type: 'none' });
  assert.equal(choice({ parallel_tool_calls: true }), undefined);
  assertInvalid({ messages: [hi], tools: [weatherTool], tool_choice: { type: 'function', function: { name: 'nope' } } }, 'tool_choice.function.name');
  assertInvalid({ messages: [hi], tools: [weatherTool], tool_choice: { type: 'allowed_tools', allowed_tools: {} } }, 'tool_choice');
  assertInvalid({ messages: [hi], tool_choice: 'required' }, 'tool_choice');
  assert.equal('tool_choice' in anthropicBody({ messages: [hi], tool_choice: 'none' }), false);
});

const call = (id: string, args = '{"location":"Paris"}') => ({ id, type: 'function', function: { name: 'get_weather', arguments: args } });

test('parallel tool results merge into one user turn, before other user text', () => {
  const body = anthropicBody({
    messages: [
      hi,
      { role: 'assistant', content: 'Checking.', tool_calls: [call('call_a'), call('call_b', '')] },
      { role: 'tool', tool_call_id: 'call_a', content: 'sunny' },
      { role: 'user', content: 'and?' },
      { role: 'tool', tool_call_id: 'call_b', content: [{ type: 'text', text: 'rain' }, { type: 'image_url', image_url: { url: 'https://x/r.png' } }] },
    ],
  });
  assert.deepEqual(body['messages'], [
    hi,
    {
      role: 'assistant',
      content: [
        { type: 'text', text: 'Checking.' },
        { type: 'tool_use', id: 'call_a', name: 'get_weather', input: { location: 'Paris' } },
        { type: 'tool_use', id: 'call_b', name: 'get_weather', input: {} },
      ],
    },
    {
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'call_a', content: 'sunny' },
        { type: 'tool_result', tool_use_id: 'call_b', content: [{ type: 'text', text: 'rain' }, { type: 'image', source: { type: 'url', url: 'https://x/r.png' } }] },
        { type: 'text', text: 'and?' },
      ],
    },
  ]);
});

test('tool ids are sanitized the same way in tool_use and tool_result', () => {
  const id = 'call.1:ab/c';
  const body = anthropicBody({
    messages: [hi, { role: 'assistant', tool_calls: [call(id), call('call.1;ab/c')] }, { role: 'tool', tool_call_id: id, content: '' }, { role: 'tool', tool_call_id: 'call.1;ab/c', content: 'x' }],
  });
  const [, assistant, user] = body['messages'] as Array<{ content: Array<Record<string, unknown>> }>;
  const useIds = assistant?.content.map((b) => b['id']);
  const resultIds = user?.content.map((b) => b['tool_use_id']);
  assert.deepEqual(useIds, resultIds);
  assert.equal(new Set(useIds).size, 2, 'distinct ids stay distinct');
  for (const sanitized of useIds ?? []) assert.match(String(sanitized), /^[a-zA-Z0-9_-]+$/);
  assert.deepEqual(user?.content[0], { type: 'tool_result', tool_use_id: sanitizeToolId(id) }, 'an empty result has no content');
  assert.equal(sanitizeToolId('toolu_01abc-DEF'), 'toolu_01abc-DEF');
  assert.equal(sanitizeToolId(''), sanitizeToolId(''));
  assert.match(sanitizeToolId(''), /^[a-zA-Z0-9_-]+$/);
});

test('invalid tool-call arguments → 400 naming the arguments', () => {
  const conv = (args: string) => ({ messages: [hi, { role: 'assistant', tool_calls: [call('c1'), call('c2', args)] }, { role: 'tool', tool_call_id: 'c1', content: 'a' }, { role: 'tool', tool_call_id: 'c2', content: 'b' }] });
  assertInvalid(conv('{"location":'), 'messages[1].tool_calls[1].function.arguments');
  assertInvalid(conv('[1,2]'), 'messages[1].tool_calls[1].function.arguments');
  assertInvalid(conv('"x"'), 'messages[1].tool_calls[1].function.arguments');
});

test('orphan, unanswered, duplicate and misplaced tool messages → 400', () => {
  assertInvalid({ messages: [hi, { role: 'tool', tool_call_id: 'call_x', content: 'r' }] }, 'messages[1].tool_call_id');
  assertInvalid({ messages: [hi, { role: 'assistant', tool_calls: [call('a')] }, { role: 'tool', tool_call_id: 'b', content: 'r' }] }, 'messages[2].tool_call_id');
  assertInvalid({ messages: [hi, { role: 'assistant', tool_calls: [call('a'), call('b')] }, { role: 'tool', tool_call_id: 'a', content: 'r' }] }, 'messages[1].tool_calls[1]');
  assertInvalid({ messages: [hi, { role: 'assistant', tool_calls: [call('a')] }, { role: 'tool', tool_call_id: 'a', content: 'r' }, { role: 'tool', tool_call_id: 'a', content: 'r' }] }, 'messages[3].tool_call_id');
  assertInvalid({ messages: [hi, { role: 'assistant', tool_calls: [call('a')] }, { role: 'tool', tool_call_id: 'a', content: 'r' }, { role: 'assistant', content: 'ok' }, { role: 'tool', tool_call_id: 'a', content: 'r' }] }, 'messages[4].tool_call_id');
  assertInvalid({ messages: [hi, { role: 'assistant', tool_calls: [call('a'), call('a')] }, { role: 'tool', tool_call_id: 'a', content: 'r' }] }, 'messages[1].tool_calls[1].id');
});

test('conversation shape errors → 400 on messages', () => {
  assertInvalid({ messages: [{ role: 'system', content: 's' }, { role: 'assistant', content: 'Hello!' }, hi] }, 'messages');
  assertInvalid({ messages: [{ role: 'system', content: 's' }, { role: 'developer', content: 'd' }] }, 'messages');
  assertInvalid({ messages: [{ role: 'user', content: '   ' }] }, 'messages');
  assertInvalid({ messages: [hi, { role: 'function', name: 'f', content: 'x' }] }, 'messages[1].role');
});

test('refused parameters → 400 naming them', () => {
  assertInvalid({ messages: [hi], temperature: 1.5 }, 'temperature');
  assertInvalid({ messages: [hi], n: 2 }, 'n');
  assertInvalid({ messages: [hi], response_format: { type: 'json_schema', json_schema: { name: 'x' } } }, 'response_format.json_schema.schema');
  assertInvalid({ messages: [hi], functions: [{ name: 'f' }] }, 'functions');
  assertInvalid({ messages: [hi], function_call: 'auto' }, 'function_call');
});

test('response_format json_schema → output_config.format', () => {
  const schema = { type: 'object', properties: { a: { type: 'string' } }, required: ['a'], additionalProperties: false };
  const body = anthropicBody({ messages: [hi], response_format: { type: 'json_schema', json_schema: { name: 'x', schema, strict: true } } });
  assert.deepEqual(body['output_config'], { format: { type: 'json_schema', schema } });
  assert.equal('output_config' in anthropicBody({ messages: [hi], response_format: { type: 'text' } }), false);
});

test('temperature and top_p: both given → temperature only (Sonnet 4.5+ refuses both); either alone passes', () => {
  const both = anthropicBody({ messages: [hi], temperature: 0.3, top_p: 0.5 });
  assert.equal(both['temperature'], 0.3);
  assert.equal('top_p' in both, false);
  assert.equal(anthropicBody({ messages: [hi], top_p: 0.5 })['top_p'], 0.5);
  assert.equal('temperature' in anthropicBody({ messages: [hi], top_p: 0.5 }), false);
});

test('reasoning_effort → extended thinking with a budget; the default max_tokens keeps its room for the answer', () => {
  const low = anthropicBody({ messages: [hi], reasoning_effort: 'low' });
  assert.deepEqual(low['thinking'], { type: 'enabled', budget_tokens: 1024 });
  assert.equal(low['max_tokens'], TARGET.defaultMaxTokens + 1024);
  const high = anthropicBody({ messages: [hi], reasoning_effort: 'high' });
  assert.deepEqual(high['thinking'], { type: 'enabled', budget_tokens: 24576 });
  assert.equal('thinking' in anthropicBody({ messages: [hi], reasoning_effort: 'none' }), false);
  assert.equal('thinking' in anthropicBody({ messages: [hi] }), false);
  // temperature 1 and top_p ≥ 0.95 are what thinking allows.
  assert.ok('thinking' in anthropicBody({ messages: [hi], reasoning_effort: 'medium', temperature: 1 }));
  assert.ok('thinking' in anthropicBody({ messages: [hi], reasoning_effort: 'medium', top_p: 0.97 }));
});

test('reasoning_effort with a caller max: the budget stays below it, and a max too small for thinking is a 400', () => {
  const capped = anthropicBody({ messages: [hi], reasoning_effort: 'high', max_completion_tokens: 5000 });
  assert.equal(capped['max_tokens'], 5000);
  assert.deepEqual(capped['thinking'], { type: 'enabled', budget_tokens: 4999 });
  const roomy = anthropicBody({ messages: [hi], reasoning_effort: 'low', max_tokens: 9000 });
  assert.deepEqual(roomy['thinking'], { type: 'enabled', budget_tokens: 1024 });
  assertInvalid({ messages: [hi], reasoning_effort: 'low', max_completion_tokens: 1024 }, 'max_completion_tokens');
  assertInvalid({ messages: [hi], reasoning_effort: 'low', max_tokens: 500 }, 'max_tokens');
});

test('reasoning_effort: what extended thinking refuses is a 400 naming the caller\'s parameter', () => {
  assertInvalid({ messages: [hi], reasoning_effort: 'extreme' }, 'reasoning_effort');
  assertInvalid({ messages: [hi], reasoning_effort: 'low', temperature: 0.2 }, 'temperature');
  assertInvalid({ messages: [hi], reasoning_effort: 'low', top_p: 0.5 }, 'top_p');
  assertInvalid({ messages: [hi], reasoning_effort: 'low', tools: [weatherTool], tool_choice: 'required' }, 'tool_choice');
  assertInvalid({ messages: [hi], reasoning_effort: 'low', tools: [weatherTool], tool_choice: { type: 'function', function: { name: 'get_weather' } } }, 'tool_choice');
  assert.ok('thinking' in anthropicBody({ messages: [hi], reasoning_effort: 'low', tools: [weatherTool], tool_choice: 'auto' }));
});

test('reasoning_effort on a request that continues a tool loop, no thinking kept for it: thinking left off (Anthropic refuses the turn without its signed block)', () => {
  const loop = [
    hi,
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } }] },
    { role: 'tool', tool_call_id: 'call_1', content: '18 C' },
  ];
  assert.equal('thinking' in anthropicBody({ messages: loop, tools: [weatherTool], reasoning_effort: 'high' }), false);
  // Once the loop is closed by an answer, the next user turn thinks again.
  const next = [...loop, { role: 'assistant', content: 'It is 18 C.' }, { role: 'user', content: 'And tomorrow?' }];
  assert.ok('thinking' in anthropicBody({ messages: next, tools: [weatherTool], reasoning_effort: 'high' }));
});
