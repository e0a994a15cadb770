import { test } from 'node:test';
import assert from 'node:assert/strict';
import { geminiDialect } from '../../../src/dialects/gemini/index.ts';
import { PLACEHOLDER_THOUGHT_SIGNATURE } from '../../../src/dialects/gemini/tool-call-ids.ts';
import { GatewayError } from '../../../src/errors/gateway-error.ts';
import { chatRequest, geminiBody, target, userTurn } from './support.ts';

// OpenAI request → Gemini request: mappings beyond the two wire fixtures, and every refusal.

const base = { model: 'm', messages: [userTurn('Hi')] };
const weatherTool = {
  type: 'function',
  function: { name: 'get_weather', parameters: { type: 'object', properties: { location: { type: 'string' } } } },
};
const assistantCall = (id: string, args = '{"location":"Paris"}') => ({
  role: 'assistant',
  content: null,
  tool_calls: [{ id, type: 'function', function: { name: 'get_weather', arguments: args } }],
});

/** Asserts a 400 InvalidRequestError naming `param`. */
function assertRefused(req: unknown, param: string): void {
  assert.throws(
    () => geminiDialect.buildRequest(chatRequest(req), target),
    (err: unknown) => {
      assert.ok(err instanceof GatewayError, `not a GatewayError: ${String(err)}`);
      assert.equal(err.status, 400);
      assert.equal(err.openaiType, 'invalid_request_error');
      assert.equal(err.param, param);
      return true;
    },
  );
}

test('bad input is refused with 400 naming the parameter', () => {
  assertRefused({ model: 'm', messages: [{ role: 'user', content: [{ type: 'video_url', video_url: {} }] }] }, 'messages[0].content[0].type');
  assertRefused({ model: 'm', messages: [{ role: 'assistant', content: 'Hello' }, userTurn('Hi')] }, 'messages');
  assertRefused({ model: 'm', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'assistant', content: 'Hello' }] }, 'messages');
  assertRefused({ model: 'm', messages: [userTurn('Hi'), { role: 'tool', tool_call_id: 'call_missing', content: '1' }] }, 'messages[1].tool_call_id');
  assertRefused({ model: 'm', messages: [userTurn('Hi'), assistantCall('call_1', '{not json')] }, 'messages[1].tool_calls[0].function.arguments');
  assertRefused({ model: 'm', messages: [userTurn('Hi'), assistantCall('call_1', '[1,2]')] }, 'messages[1].tool_calls[0].function.arguments');
  assertRefused(
    { model: 'm', messages: [userTurn('Look'), userTurn([{ type: 'image_url', image_url: { url: 'ftp://example.com/a.png' } }])] },
    'messages[1].content[0].image_url.url',
  );
  assertRefused({ model: 'm', messages: [userTurn([{ type: 'image_url', image_url: { url: 'data:image/png;base64,@@@' } }])] }, 'messages[0].content[0].image_url.url');
  assertRefused({ model: 'm', messages: [userTurn([{ type: 'image_url', image_url: { url: 'data:;base64,AAAA' } }])] }, 'messages[0].content[0].image_url.url');
  assertRefused({ model: 'm', messages: [userTurn([{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'opus-x' } }])] }, 'messages[0].content[0].input_audio.format');
  assertRefused({ model: 'm', messages: [userTurn([{ type: 'file', file: { file_id: 'file-abc' } }])] }, 'messages[0].content[0].file.file_id');
  assertRefused({ model: 'm', messages: [{ role: 'system', content: [{ type: 'image_url', image_url: { url: 'https://x/y.png' } }] }, userTurn('Hi')] }, 'messages[0].content[0].type');
  assertRefused({ ...base, stop: ['1', '2', '3', '4', '5', '6'] }, 'stop');
  assertRefused({ ...base, tools: [{ type: 'custom', custom: { name: 'x' } }] }, 'tools[0].type');
  assertRefused({ ...base, tools: [weatherTool, weatherTool] }, 'tools[1].function.name');
  assertRefused({ ...base, tools: [weatherTool], tool_choice: { type: 'function', function: { name: 'nope' } } }, 'tool_choice.function.name');
  assertRefused({ ...base, tool_choice: 'required' }, 'tool_choice');
  assertRefused({ ...base, tools: [weatherTool], tool_choice: { type: 'custom', custom: { name: 'x' } } }, 'tool_choice');
  assertRefused({ ...base, functions: [{ name: 'f' }] }, 'functions');
  assertRefused({ ...base, logprobs: true }, 'logprobs');
  assertRefused({ ...base, modalities: ['text', 'audio'] }, 'modalities');
  assertRefused({ ...base, reasoning_effort: 'extreme' }, 'reasoning_effort');
  assertRefused({ model: 'm', messages: [userTurn('')] }, 'messages');
  const recursive = { type: 'object', properties: { child: { $ref: '#' } } };
  assertRefused({ ...base, tools: [{ type: 'function', function: { name: 'tree', parameters: recursive } }] }, 'tools[0].function.parameters');
});

test('system and developer messages anywhere are hoisted in order; consecutive roles merge', () => {
  const body = geminiBody({
    model: 'm',
    messages: [
      { role: 'system', content: 'A' },
      userTurn('one'),
      userTurn([{ type: 'text', text: 'two' }]),
      { role: 'developer', content: [{ type: 'text', text: 'B' }, { type: 'text', text: 'C' }] },
      { role: 'assistant', content: 'ok', name: 'bot' },
      { role: 'assistant', content: [{ type: 'refusal', refusal: 'no' }] },
      userTurn('three'),
    ],
  });
  assert.deepEqual(body, {
    systemInstruction: { parts: [{ text: 'A' }, { text: 'B' }, { text: 'C' }] },
    contents: [
      { role: 'user', parts: [{ text: 'one' }, { text: 'two' }] },
      { role: 'model', parts: [{ text: 'ok' }, { text: 'no' }] },
      { role: 'user', parts: [{ text: 'three' }] },
    ],
  });
});

test('parallel tool results merge into one user content with names recovered by id; non-objects wrapped', () => {
  const body = geminiBody({
    model: 'm',
    messages: [
      userTurn('Weather?'),
      {
        role: 'assistant',
        content: 'Let me check.',
        tool_calls: [
          { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } },
          { id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_b', content: '"12:00"' },
      { role: 'tool', tool_call_id: 'call_a', content: [{ type: 'text', text: 'sunny' }] },
      { role: 'tool', tool_call_id: 'call_a', content: '[1,2]' },
    ],
  }) as { contents: unknown[] };
  assert.deepEqual(body.contents.slice(1), [
    {
      role: 'model',
      parts: [
        { text: 'Let me check.' },
        // Client-made ids carry no signature: the step's first call gets Google's placeholder.
        { functionCall: { name: 'get_weather', args: { location: 'Paris' } }, thoughtSignature: PLACEHOLDER_THOUGHT_SIGNATURE },
        { functionCall: { name: 'get_time', args: {} } },
      ],
    },
    {
      role: 'user',
      parts: [
        { functionResponse: { name: 'get_time', response: { output: '12:00' } } },
        { functionResponse: { name: 'get_weather', response: { output: 'sunny' } } },
        { functionResponse: { name: 'get_weather', response: { output: [1, 2] } } },
      ],
    },
  ]);
});

test('generation parameters map to generationConfig', () => {
  const body = geminiBody({
    ...base,
    temperature: 1.2,
    top_p: 0.5,
    max_tokens: 100,
    max_completion_tokens: 200,
    stop: 'END',
    n: 2,
    seed: 7,
    presence_penalty: 0.1,
    frequency_penalty: -0.2,
    response_format: { type: 'json_object' },
    user: 'dropped',
    parallel_tool_calls: true,
    logit_bias: { '50256': -100 },
  }) as { generationConfig: unknown };
  assert.deepEqual(body.generationConfig, {
    temperature: 1.2,
    topP: 0.5,
    maxOutputTokens: 200,
    stopSequences: ['END'],
    candidateCount: 2,
    seed: 7,
    presencePenalty: 0.1,
    frequencyPenalty: -0.2,
    responseMimeType: 'application/json',
  });
});

test('reasoning_effort → thinkingConfig.thinkingBudget (Google\'s own OpenAI-compatible budgets); none turns thinking off', () => {
  const config = (effort: string): unknown => (geminiBody({ ...base, reasoning_effort: effort }) as { generationConfig?: { thinkingConfig?: unknown } }).generationConfig?.thinkingConfig;
  assert.deepEqual(config('low'), { thinkingBudget: 1024 });
  assert.deepEqual(config('medium'), { thinkingBudget: 8192 });
  assert.deepEqual(config('high'), { thinkingBudget: 24576 });
  assert.deepEqual(config('none'), { thinkingBudget: 0 });
  assert.equal('generationConfig' in (geminiBody(base) as object), false);
});

test('response_format json_schema → responseJsonSchema, cleaned', () => {
  const body = geminiBody({
    ...base,
    response_format: {
      type: 'json_schema',
      json_schema: {
        name: 'answer',
        strict: true,
        schema: { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object', properties: { a: { type: 'string', pattern: '^x' } }, additionalProperties: false },
      },
    },
  }) as { generationConfig: unknown };
  assert.deepEqual(body.generationConfig, {
    responseMimeType: 'application/json',
    responseJsonSchema: { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: false },
  });
});

test('tool_choice maps to functionCallingConfig', () => {
  const other = { type: 'function', function: { name: 'get_time' } };
  const config = (toolChoice: unknown) => (geminiBody({ ...base, tools: [weatherTool, other], tool_choice: toolChoice }) as { toolConfig?: unknown; tools: Array<{ functionDeclarations: Array<{ name: string }> }> });
  assert.deepEqual(config('auto').toolConfig, { functionCallingConfig: { mode: 'AUTO' } });
  assert.deepEqual(config('none').toolConfig, { functionCallingConfig: { mode: 'NONE' } });
  assert.deepEqual(config('required').toolConfig, { functionCallingConfig: { mode: 'ANY' } });
  assert.deepEqual(config({ type: 'function', function: { name: 'get_time' } }).toolConfig, {
    functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_time'] },
  });
  const allowed = config({ type: 'allowed_tools', allowed_tools: { mode: 'auto', tools: [other] } });
  assert.deepEqual(allowed.toolConfig, { functionCallingConfig: { mode: 'AUTO' } });
  assert.deepEqual(allowed.tools[0]?.functionDeclarations.map((d) => d.name), ['get_time']);
  assert.equal(config(undefined).toolConfig, undefined);
  assert.equal((geminiBody({ ...base, tool_choice: 'none' }) as { toolConfig?: unknown }).toolConfig, undefined);
});

test('tool declarations: strict dropped, parameters cleaned, missing type defaults to object', () => {
  const body = geminiBody({
    ...base,
    tools: [
      { type: 'function', function: { name: 'a', strict: true, parameters: { properties: { x: { const: 1 } } } } },
      { type: 'function', function: { name: 'b', description: 'no params' } },
    ],
  }) as { tools: unknown };
  assert.deepEqual(body.tools, [{
    functionDeclarations: [
      { name: 'a', parametersJsonSchema: { type: 'object', properties: { x: { enum: [1] } } } },
      { name: 'b', description: 'no params' },
    ],
  }]);
});

test('images: data URLs inline, http(s) URLs as fileData with mime from the extension (omitted when unknown)', () => {
  const body = geminiBody({
    model: 'm',
    messages: [userTurn([
      { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/4AAQ', detail: 'high' } },
      { type: 'image_url', image_url: { url: 'https://example.com/photos/cat.WEBP?size=large#x' } },
      { type: 'image_url', image_url: { url: 'https://example.com/render?id=42' } },
      { type: 'image_url', image_url: { url: 'data:image/svg+xml,%3Csvg%2F%3E' } },
      { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } },
      { type: 'file', file: { file_data: 'data:application/pdf;base64,JVBERi0=', filename: 'a.pdf' } },
      { type: 'file', file: { file_data: 'JVBERi0=', filename: 'b.pdf' } },
    ])],
  }) as { contents: Array<{ parts: unknown[] }> };
  assert.deepEqual(body.contents[0]?.parts, [
    { inlineData: { mimeType: 'image/jpeg', data: '/9j/4AAQ' } },
    { fileData: { mimeType: 'image/webp', fileUri: 'https://example.com/photos/cat.WEBP?size=large#x' } },
    { fileData: { fileUri: 'https://example.com/render?id=42' } },
    { inlineData: { mimeType: 'image/svg+xml', data: Buffer.from('<svg/>').toString('base64') } },
    { inlineData: { mimeType: 'audio/wav', data: 'UklGRg==' } },
    { inlineData: { mimeType: 'application/pdf', data: 'JVBERi0=' } },
    { inlineData: { mimeType: 'application/pdf', data: 'JVBERi0=' } },
  ]);
});

test('deprecated function-role results and assistant function_call are replayed', () => {
  const body = geminiBody({
    model: 'm',
    messages: [
      userTurn('Weather?'),
      { role: 'assistant', content: null, function_call: { name: 'get_weather', arguments: '{"location":"Oslo"}' } },
      { role: 'function', name: 'get_weather', content: 'cold' },
    ],
  }) as { contents: unknown[] };
  assert.deepEqual(body.contents.slice(1), [
    { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { location: 'Oslo' } }, thoughtSignature: PLACEHOLDER_THOUGHT_SIGNATURE }] },
    { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { output: 'cold' } } }] },
  ]);
});

test('JSON text nested past the bound: arguments refused naming them, a tool result sent as its text', () => {
  const deep = `{"a":${'['.repeat(5000)}${']'.repeat(5000)}}`;
  assertRefused({ model: 'm', messages: [userTurn('Hi'), assistantCall('call_1', deep)] }, 'messages[1].tool_calls[0].function.arguments');
  const req = { model: 'm', messages: [userTurn('Hi'), assistantCall('call_1'), { role: 'tool', tool_call_id: 'call_1', content: deep }], tools: [weatherTool] };
  const body = geminiBody(req);
  assert.ok(JSON.stringify(body).includes(JSON.stringify({ output: deep })), 'the result goes as { output: "<text>" }');
});
