import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { anthropicDialect } from '../../../src/dialects/anthropic/index.ts';
import { GatewayError } from '../../../src/errors/gateway-error.ts';
import { chatRequestSchema } from '../../../src/openai/chat-request.ts';
import { normalizeStream } from '../../support/openai-compare.ts';
import { bytesOf, messageEnd, messageStart, splitAt, sseEvent, streamContext, TARGET, translateStream } from './helpers.ts';

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';

// ---------------------------------------------------------------------------------------------
// (a) buildRequest throws nothing but GatewayErrors, and what it builds obeys Anthropic's rules
// ---------------------------------------------------------------------------------------------

const text = fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('', ' ', '\n', 'hi', 'Hello there'));
const imageUrl = fc.oneof(
  fc.constantFrom(`data:image/png;base64,${PNG}`, `data:image/webp;charset=x;base64,${PNG}`, 'data:image/bmp;base64,AAAA', 'data:image/png,raw'),
  fc.constantFrom('https://example.com/a.png', 'http://x', 'ftp://x/y', 'javascript:alert(1)', '', '//host/p.png'),
  fc.webUrl(),
  fc.string(),
  fc.string().map((s) => `data:${s}`),
);
const part = fc.oneof(
  { weight: 4, arbitrary: fc.record({ type: fc.constant('text'), text }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('image_url'), image_url: fc.record({ url: imageUrl, detail: fc.constantFrom('auto', 'low', 'high') }, { requiredKeys: ['url'] }) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('input_audio'), input_audio: fc.record({ data: fc.base64String(), format: fc.constantFrom('wav', 'mp3') }) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('file'), file: fc.record({ file_id: fc.string(), filename: fc.string() }, { requiredKeys: [] }) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('refusal'), refusal: text }) },
  { weight: 1, arbitrary: fc.record({ type: fc.oneof(fc.string(), fc.constantFrom('text', 'image_url', 'refusal')) }) },
);
const content = fc.oneof(text, fc.array(part, { maxLength: 4 }));
const toolId = fc.oneof(fc.constantFrom('call_1', 'call_2', 'call.3', 'toolu_x', '', 'a b', 'ünï'), fc.string());
const args = fc.oneof(fc.json(), fc.string(), fc.constantFrom('', ' ', '{}', '{"location":"Paris"}', '[1]', 'null', '{"a":'));
const toolCall = fc.record({ id: toolId, type: fc.constant('function'), function: fc.record({ name: fc.constantFrom('get_weather', 'f'), arguments: args }) });

/** Any sequence of any messages: mostly rejected, which is what it probes. */
const anyMessage = fc.oneof(
  fc.record({ role: fc.constantFrom('system', 'developer'), content, name: fc.string() }, { requiredKeys: ['role', 'content'] }),
  fc.record({ role: fc.constant('user'), content, name: fc.string() }, { requiredKeys: ['role', 'content'] }),
  fc.record(
    { role: fc.constant('assistant'), content: fc.option(content, { nil: null }), tool_calls: fc.array(toolCall, { maxLength: 3 }), refusal: fc.option(fc.string()) },
    { requiredKeys: ['role'] },
  ),
  fc.record({ role: fc.constant('tool'), tool_call_id: toolId, content }),
  fc.record({ role: fc.constant('function'), name: fc.string(), content: fc.option(fc.string(), { nil: null }) }),
);

/** Well-formed exchanges (user, assistant with calls, their results), so that many requests succeed. */
const exchange = fc.record({
  system: fc.option(text, { nil: undefined }),
  user: fc.oneof(text, fc.array(fc.oneof(fc.record({ type: fc.constant('text'), text }), fc.constant({ type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } })), { maxLength: 3 })),
  assistant: fc.option(text, { nil: null }),
  calls: fc.array(fc.record({ prefix: fc.oneof(fc.constantFrom('call_', 'toolu_01', 'x.y:'), fc.string()), input: fc.dictionary(fc.string(), fc.jsonValue()) }), { maxLength: 3 }),
  reverseResults: fc.boolean(),
  resultContent: fc.oneof(text, fc.array(fc.record({ type: fc.constant('text'), text }), { maxLength: 2 })),
});
let callCounter = 0;
const wellFormed = fc.array(exchange, { minLength: 1, maxLength: 4 }).map((exchanges) =>
  exchanges.flatMap((x) => {
    const msgs: Array<Record<string, unknown>> = [];
    if (x.system !== undefined) msgs.push({ role: 'system', content: x.system });
    msgs.push({ role: 'user', content: x.user });
    const calls = x.calls.map((c) => ({ id: `${c.prefix}${callCounter++}`, type: 'function', function: { name: 'get_weather', arguments: JSON.stringify(c.input) } }));
    msgs.push({ role: 'assistant', content: x.assistant, ...(calls.length > 0 ? { tool_calls: calls } : {}) });
    const results = calls.map((c) => ({ role: 'tool', tool_call_id: c.id, content: x.resultContent }));
    msgs.push(...(x.reverseResults ? results.reverse() : results));
    return msgs;
  }),
);

const schema = fc.oneof(
  fc.constant(undefined),
  fc.constant({}),
  fc.constant({ type: 'object', properties: { location: { type: 'string' } } }),
  fc.record({ properties: fc.dictionary(fc.string(), fc.jsonValue()) }),
  fc.record({ type: fc.constantFrom('object', 'string', 'array') }),
  fc.dictionary(fc.string(), fc.jsonValue()),
);
const tool = fc.oneof(
  { weight: 5, arbitrary: fc.record({ type: fc.constant('function'), function: fc.record({ name: fc.constantFrom('get_weather', 'f', 'g'), description: fc.string(), parameters: schema, strict: fc.option(fc.boolean()) }, { requiredKeys: ['name'] }) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constantFrom('custom', 'web_search') }) },
);
const number = (min: number, max: number) => fc.option(fc.double({ min, max, noNaN: true }));
/** Mostly in Anthropic's 0–1 range, sometimes outside it. */
const unitish = fc.option(fc.oneof({ weight: 4, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }) }, { weight: 1, arbitrary: fc.double({ min: -0.5, max: 2.5, noNaN: true }) }));
const params = fc.record(
  {
    tools: fc.array(tool, { maxLength: 3 }),
    tool_choice: fc.oneof(fc.constantFrom('none', 'auto', 'required'), fc.record({ type: fc.constant('function'), function: fc.record({ name: fc.constantFrom('get_weather', 'f', 'nope') }) }), fc.record({ type: fc.string() })),
    parallel_tool_calls: fc.option(fc.boolean()),
    temperature: unitish,
    top_p: unitish,
    n: fc.option(fc.constantFrom(1, 1, 1, 1, 2)),
    max_tokens: fc.option(fc.integer({ min: 1, max: 200_000 })),
    max_completion_tokens: fc.option(fc.integer({ min: 1, max: 200_000 })),
    stop: fc.option(fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 4 }))),
    response_format: fc.oneof(
      fc.constant({ type: 'text' }),
      fc.constant({ type: 'json_object' }),
      fc.record({ type: fc.constant('json_schema'), json_schema: fc.record({ name: fc.string(), schema: fc.dictionary(fc.string(), fc.jsonValue()), strict: fc.option(fc.boolean()) }, { requiredKeys: ['name'] }) }),
    ),
    user: fc.string(),
    stream: fc.option(fc.boolean()),
    stream_options: fc.option(fc.record({ include_usage: fc.boolean() })),
    seed: fc.option(fc.integer()),
    presence_penalty: number(-2, 2),
    frequency_penalty: number(-2, 2),
    logit_bias: fc.dictionary(fc.string(), fc.integer({ min: -100, max: 100 })),
    metadata: fc.dictionary(fc.string(), fc.string()),
  },
  { requiredKeys: [] },
);
/** Parameters an Anthropic request can carry, so that well-formed conversations mostly succeed. */
const benignParams = fc.record(
  {
    tools: fc
      .array(fc.record({ type: fc.constant('function'), function: fc.record({ name: fc.constantFrom('f', 'g'), description: fc.string(), parameters: fc.constantFrom(undefined, {}, { type: 'object', properties: {} }) }, { requiredKeys: ['name'] }) }), { maxLength: 2 })
      .map((more) => [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { location: { type: 'string' } } } } }, ...more]),
    tool_choice: fc.constantFrom('none', 'auto', 'required', { type: 'function', function: { name: 'get_weather' } }),
    parallel_tool_calls: fc.option(fc.boolean()),
    temperature: fc.option(fc.double({ min: 0, max: 1, noNaN: true })),
    top_p: fc.option(fc.double({ min: 0, max: 1, noNaN: true })),
    max_completion_tokens: fc.option(fc.integer({ min: 1, max: 200_000 })),
    stop: fc.option(fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 4 }))),
    response_format: fc.oneof(fc.constant({ type: 'text' }), fc.record({ type: fc.constant('json_schema'), json_schema: fc.record({ name: fc.string(), schema: fc.dictionary(fc.string(), fc.jsonValue()) }) })),
    user: fc.string(),
    stream: fc.option(fc.boolean()),
    seed: fc.option(fc.integer()),
  },
  { requiredKeys: [] },
);
const request = fc
  .oneof(fc.tuple(fc.array(anyMessage, { minLength: 1, maxLength: 6 }), params), fc.tuple(wellFormed, params), fc.tuple(wellFormed, benignParams))
  .map(([messages, rest]) => ({ model: 'support-default', messages, ...rest }));

const TOOL_ID = /^[a-zA-Z0-9_-]+$/;

type Block = Record<string, unknown> & { type: string };
interface Turn {
  role: string;
  content: string | Block[];
}

/** Anthropic's request rules (wire README 3.2) that every built request must obey. */
function checkAnthropicBody(body: Record<string, unknown>): void {
  assert.ok(Number.isInteger(body['max_tokens']) && Number(body['max_tokens']) >= 1);
  assert.equal(body['model'], TARGET.providerModel);
  for (const key of ['temperature', 'top_p']) {
    if (key in body) assert.ok(Number(body[key]) >= 0 && Number(body[key]) <= 1, key);
  }
  const turns = body['messages'] as Turn[];
  assert.ok(turns.length > 0);
  assert.equal(turns[0]?.role, 'user');
  turns.forEach((turn, k) => {
    assert.ok(k === 0 || turns[k - 1]?.role !== turn.role, 'roles alternate');
    if (typeof turn.content === 'string') {
      assert.notEqual(turn.content.trim(), '', 'no empty string content');
      return;
    }
    assert.ok(turn.content.length > 0, 'no empty turns');
    let seenOther = false;
    for (const block of turn.content) {
      if (block.type === 'text') assert.notEqual(String(block['text']).trim(), '', 'no empty text blocks');
      if (block.type === 'tool_use') assert.match(String(block['id']), TOOL_ID);
      if (block.type === 'tool_result') {
        assert.equal(turn.role, 'user');
        assert.ok(!seenOther, 'tool results come first in their turn');
        assert.match(String(block['tool_use_id']), TOOL_ID);
        const uses = turns[k - 1]?.content;
        assert.ok(Array.isArray(uses) && uses.some((b) => b.type === 'tool_use' && b['id'] === block['tool_use_id']), 'result answers a call of the previous turn');
      } else {
        seenOther = true;
      }
    }
  });
}

test('property: buildRequest throws only GatewayErrors (400 with a param) and builds valid Anthropic requests', () => {
  let built = 0;
  let refused = 0;
  fc.assert(
    fc.property(request, (raw) => {
      const parsed = chatRequestSchema.safeParse(raw);
      fc.pre(parsed.success);
      if (!parsed.success) return;
      let body: Record<string, unknown>;
      try {
        const upstream = anthropicDialect.buildRequest(parsed.data, TARGET);
        body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(upstream.body)) as Record<string, unknown>;
      } catch (err) {
        assert.ok(err instanceof GatewayError, `non-GatewayError thrown: ${String(err)}`);
        assert.equal(err.status, 400);
        assert.ok(err.param !== null && err.param !== '', 'a 400 names its param');
        refused++;
        return;
      }
      built++;
      checkAnthropicBody(body);
    }),
    { numRuns: 3000 },
  );
  assert.ok(built > 300, `too few requests built (${built}); the generator no longer exercises success`);
  assert.ok(refused > 300, `too few requests refused (${refused})`);
});

// ---------------------------------------------------------------------------------------------
// (b) stream translation loses no text and no tool-call argument, however the bytes are split
// ---------------------------------------------------------------------------------------------

const fragments = (value: fc.Arbitrary<string>) =>
  fc.tuple(value, fc.array(fc.nat(), { maxLength: 6 })).map(([whole, cuts]) => {
    const points = [...new Set(cuts.map((c) => c % (whole.length + 1)))].sort((a, b) => a - b);
    const pieces: string[] = [];
    let start = 0;
    for (const p of [...points, whole.length]) {
      pieces.push(whole.slice(start, p));
      start = p;
    }
    return { whole, pieces };
  });

const streamBlock = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('text' as const), text: fragments(fc.string({ unit: 'binary' })) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tool' as const), name: fc.string({ minLength: 1, unit: 'binary' }), args: fragments(fc.json({ stringUnit: 'binary' })) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('thinking' as const), text: fc.string() }) },
);

interface Encoded {
  sse: string;
  text: string;
  calls: Array<{ id: string; name: string; args: string }>;
}

function encode(blocks: Array<fc.Arbitrary<unknown> extends never ? never : StreamBlock>, pings: readonly boolean[]): Encoded {
  let sse = messageStart();
  let text = '';
  const calls: Encoded['calls'] = [];
  const ping = (i: number) => (pings[i % Math.max(1, pings.length)] ? sseEvent({ type: 'ping' }) : '');
  blocks.forEach((block, index) => {
    if (block.kind === 'text') {
      sse += sseEvent({ type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
      block.text.pieces.forEach((piece, j) => {
        sse += ping(index + j) + sseEvent({ type: 'content_block_delta', index, delta: { type: 'text_delta', text: piece } });
      });
      text += block.text.whole;
    } else if (block.kind === 'tool') {
      const id = `toolu_${index}`;
      sse += sseEvent({ type: 'content_block_start', index, content_block: { type: 'tool_use', id, name: block.name, input: {} } });
      for (const piece of ['', ...block.args.pieces]) sse += sseEvent({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: piece } });
      calls.push({ id, name: block.name, args: block.args.whole });
    } else {
      sse += sseEvent({ type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '', signature: '' } });
      sse += sseEvent({ type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking: block.text } });
    }
    sse += ping(index) + sseEvent({ type: 'content_block_stop', index });
  });
  sse += messageEnd(calls.length > 0 ? 'tool_use' : 'end_turn');
  return { sse, text, calls };
}

type StreamBlock = typeof streamBlock extends fc.Arbitrary<infer T> ? T : never;

test('property: stream translation never loses text or tool-call arguments, at any split', () => {
  fc.assert(
    fc.property(
      fc.array(streamBlock, { maxLength: 6 }),
      fc.array(fc.boolean(), { maxLength: 4 }),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }),
      fc.boolean(),
      (blocks, pings, cutFractions, includeUsage) => {
        const { sse, text, calls } = encode(blocks, pings);
        const bytes = bytesOf(sse);
        const pieces = splitAt(bytes, cutFractions.map((f) => Math.floor(f * bytes.length)));
        const out = translateStream(pieces, streamContext(includeUsage));
        const norm = normalizeStream(out);
        assert.deepEqual(norm.problems, []);
        assert.equal(norm.content, text);
        assert.deepEqual(
          [...norm.toolCalls.entries()].sort(([a], [b]) => a - b),
          calls.map((c, k) => [k, { id: c.id, name: c.name, arguments: c.args }]),
        );
        assert.equal(norm.finishReason, calls.length > 0 ? 'tool_calls' : 'stop');
        assert.equal(norm.usage !== null, includeUsage);
        assert.equal(out, translateStream([bytes], streamContext(includeUsage)), 'output does not depend on the split');
      },
    ),
    { numRuns: 1000 },
  );
});
