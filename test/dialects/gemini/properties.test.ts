import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { geminiDialect } from '../../../src/dialects/gemini/index.ts';
import { mintToolCallId } from '../../../src/dialects/gemini/tool-call-ids.ts';
import { GatewayError } from '../../../src/errors/gateway-error.ts';
import { chatRequestSchema, type ChatRequest } from '../../../src/openai/chat-request.ts';
import { normalizeStream } from '../../support/openai-compare.ts';
import { streamCtx, target } from './support.ts';

// Property tests: request translation only ever fails with a 400 GatewayError, and stream
// translation never loses text or tool-call arguments however the bytes are split.

// ------------------------------------------------------------------ arbitrary OpenAI requests

/** Mostly valid values, sometimes invalid ones, so both the success and the refusal paths run. */
function mostly<A, B>(good: fc.Arbitrary<A>, bad: fc.Arbitrary<B>): fc.Arbitrary<A | B> {
  return fc.oneof({ arbitrary: good as fc.Arbitrary<A | B>, weight: 9 }, { arbitrary: bad as fc.Arbitrary<A | B>, weight: 1 });
}

const text = fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('', ' ', '{"a":1}', '[1]', '42', 'null', '"s"'));
const url = mostly(
  fc.oneof(fc.webUrl({ withQueryParameters: true, withFragments: true }), fc.constantFrom('data:image/png;base64,iVBORw0KGgo=', 'data:,hi', 'https://x.test/a.JPG')),
  fc.oneof(fc.constantFrom('data:image/png;base64,', 'ftp://x/a.png', 'data:text/plain,%ZZ', '', 'nope'), fc.string().map((s) => `data:${s}`)),
);
const textPart = fc.record({ type: fc.constant('text'), text });
const part = fc.oneof(
  { arbitrary: textPart, weight: 8 },
  { arbitrary: fc.record({ type: fc.constant('image_url'), image_url: fc.record({ url, detail: fc.constantFrom('auto', 'low', 'high') }, { requiredKeys: ['url'] }) }), weight: 3 },
  fc.record({ type: fc.constant('input_audio'), input_audio: fc.record({ data: mostly(fc.base64String({ minLength: 4 }), fc.string()), format: mostly(fc.constantFrom('wav', 'mp3', 'flac'), fc.constant('xyz')) }) }),
  fc.record({ type: fc.constant('file'), file: fc.record({ file_data: fc.oneof(fc.base64String(), url), file_id: fc.string(), filename: fc.constantFrom('a.pdf', 'b', 'c.png') }, { requiredKeys: [] }) }),
  fc.record({ type: fc.constant('refusal'), refusal: fc.string() }),
  fc.record({ type: fc.string(), extra: fc.jsonValue({ maxDepth: 2 }) }),
);
const content = fc.oneof(text, fc.array(part, { maxLength: 4 }));
const textContent = fc.oneof(text, fc.array(textPart, { maxLength: 3 }));
const callId = fc.constantFrom('call_1', 'call_2', 'toolu_01A', mintToolCallId('EskgCsYgAb4+9vtF7/x='), mintToolCallId(), 'call_ts_x');
const args = mostly(
  fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 3 }).map((o) => JSON.stringify(o)),
  fc.oneof(fc.json({ maxDepth: 2 }), fc.string(), fc.constant('')),
);
const toolCall = fc.record({
  id: callId,
  type: fc.constant('function'),
  function: fc.record({ name: fc.constantFrom('get_weather', 'f', ''), arguments: args }),
});
const message = fc.oneof(
  fc.record({ role: fc.constantFrom('system', 'developer'), content: mostly(textContent, content) }),
  { arbitrary: fc.record({ role: fc.constant('user'), content: mostly(textContent, content), name: fc.string() }, { requiredKeys: ['role', 'content'] }), weight: 3 },
  { arbitrary: fc.record({ role: fc.constant('user'), content }), weight: 2 },
  {
    arbitrary: fc.record(
      {
        role: fc.constant('assistant'),
        content: fc.option(mostly(textContent, content)),
        tool_calls: fc.array(toolCall, { maxLength: 3 }),
        refusal: fc.option(fc.string()),
      },
      { requiredKeys: ['role'] },
    ),
    weight: 3,
  },
  fc.record({ role: fc.constant('assistant'), content: fc.constant(null), function_call: fc.record({ name: fc.string(), arguments: args }) }),
  { arbitrary: fc.record({ role: fc.constant('tool'), tool_call_id: callId, content: mostly(textContent, content), pick: fc.nat() }), weight: 3 },
  fc.record({ role: fc.constant('function'), name: fc.string(), content: fc.option(fc.string()) }),
);

/** Tool messages mostly answer a call made earlier in the conversation (otherwise they are orphans). */
function answerEarlierCalls(messages: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
  const ids: string[] = [];
  return messages.flatMap((m) => {
    if (Array.isArray(m.tool_calls)) for (const c of m.tool_calls as Array<{ id: string }>) ids.push(c.id);
    if (m.role !== 'tool') return [m];
    const { pick, ...rest } = m as { pick: number };
    if (pick % 10 === 0) return [rest]; // keep the generated id: usually an orphan
    return ids.length > 0 ? [{ ...rest, tool_call_id: ids[pick % ids.length] }] : [];
  });
}
const conversation = fc
  .tuple(mostly(fc.constant(true), fc.constant(false)), fc.string({ minLength: 1 }), fc.array(message, { minLength: 1, maxLength: 6 }))
  .map(([userFirst, opening, rest]) => answerEarlierCalls([...(userFirst ? [{ role: 'user', content: opening }] : []), ...rest]));

const schemaKey = fc.constantFrom(
  'type', 'properties', 'items', 'prefixItems', '$ref', '$defs', 'definitions', 'allOf', 'anyOf', 'oneOf', 'const', 'enum',
  'required', 'additionalProperties', 'description', '$schema', 'pattern', 'title',
);
const ref = fc.constantFrom('#', '#/$defs/A', '#/definitions/B', '#/properties/x', '#/items/0', 'http://x/s.json', '#/%', '#/$defs');
const { schema } = fc.letrec((tie) => ({
  schema: fc.dictionary(fc.oneof(schemaKey, fc.string()), tie('value'), { maxKeys: 4 }),
  value: fc.oneof(
    { depthSize: 'small' },
    fc.jsonValue({ maxDepth: 1 }),
    ref,
    tie('schema'),
    fc.array(tie('schema'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom('A', 'B', 'x', '0'), tie('schema'), { maxKeys: 3 }),
  ),
}));
const tool = mostly(
  fc.record({
    type: fc.constant('function'),
    function: fc.record({ name: fc.constantFrom('get_weather', 'f', 'g'), description: fc.string(), parameters: schema, strict: fc.boolean() }, { requiredKeys: ['name'] }),
  }),
  fc.record({ type: fc.constantFrom('custom', 'web_search') }),
);
const toolChoice = mostly(
  fc.oneof(
    fc.constantFrom('auto', 'none', 'required'),
    fc.record({ type: fc.constant('function'), function: fc.record({ name: fc.constantFrom('get_weather', 'f', 'g') }) }),
    fc.record({
      type: fc.constant('allowed_tools'),
      allowed_tools: fc.record({ mode: fc.constantFrom('auto', 'required'), tools: fc.array(fc.record({ type: fc.constant('function'), function: fc.record({ name: fc.constantFrom('f', 'g') }) }), { maxLength: 2 }) }),
    }),
  ),
  fc.record({ type: fc.string() }),
);
const responseFormat = fc.oneof(
  fc.record({ type: fc.constantFrom('text', 'json_object') }),
  fc.record({ type: fc.constant('json_schema'), json_schema: fc.record({ name: fc.string(), schema, strict: fc.boolean() }, { requiredKeys: ['name'] }) }),
);
const rawRequest = fc.record(
  {
    model: fc.constantFrom('support-default', 'm'),
    messages: conversation,
    stream: fc.boolean(),
    temperature: fc.double(),
    top_p: fc.double(),
    n: fc.integer({ min: 1, max: 4 }),
    max_tokens: fc.integer({ min: 1, max: 100_000 }),
    max_completion_tokens: fc.integer({ min: 1, max: 100_000 }),
    stop: fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 6 })),
    seed: fc.integer(),
    presence_penalty: fc.double(),
    frequency_penalty: fc.double(),
    tools: mostly(fc.uniqueArray(tool, { minLength: 1, maxLength: 3, selector: (t) => ('function' in t ? t.function.name : t.type) }), fc.array(tool, { maxLength: 3 })),
    tool_choice: toolChoice,
    response_format: responseFormat,
    parallel_tool_calls: fc.boolean(),
    user: fc.string(),
    logprobs: mostly(fc.constant(false), fc.constant(true)),
    modalities: mostly(fc.constant(['text']), fc.constant(['text', 'audio'])),
    metadata: fc.jsonValue({ maxDepth: 2 }),
  },
  { requiredKeys: ['model', 'messages'] },
);
const chatRequest: fc.Arbitrary<ChatRequest> = rawRequest
  .map((raw) => chatRequestSchema.safeParse(raw))
  .filter((parsed) => parsed.success)
  .map((parsed) => parsed.data as ChatRequest);

interface Content {
  role: string;
  parts: Array<Record<string, unknown>>;
}

test('(a) buildRequest never throws anything but a 400 GatewayError, and what it builds is well-formed', () => {
  fc.assert(
    fc.property(chatRequest, (req) => {
      let body: { contents: Content[] };
      try {
        body = JSON.parse(new TextDecoder().decode(geminiDialect.buildRequest(req, target).body)) as { contents: Content[] };
      } catch (err) {
        assert.ok(err instanceof GatewayError, `threw ${String(err)}`);
        assert.equal(err.status, 400, `${err.name}: ${err.message}`);
        return;
      }
      assert.equal(body.contents[0]?.role, 'user');
      body.contents.forEach((c, i) => {
        assert.ok(c.parts.length > 0);
        if (i > 0) assert.notEqual(c.role, body.contents[i - 1]?.role);
        for (const p of c.parts) assert.ok(p.text === undefined || p.text !== '');
      });
    }),
    { numRuns: 3000 },
  );
});

// ------------------------------------------------------------------ stream round trip

type GeminiPart = { text: string; thought?: boolean } | { functionCall: { name: string; args: Record<string, unknown> }; thoughtSignature?: string };

const geminiPart: fc.Arbitrary<GeminiPart> = fc.oneof(
  fc.record({ text: fc.string({ unit: 'binary', maxLength: 40 }) }),
  fc.record({ text: fc.string({ maxLength: 10 }), thought: fc.constant(true) }),
  fc.record(
    {
      functionCall: fc.record({ name: fc.stringMatching(/^[a-z_]{1,12}$/), args: fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }) }),
      thoughtSignature: fc.base64String({ minLength: 4, maxLength: 40 }),
    },
    { requiredKeys: ['functionCall'] },
  ),
);
const streamCase = fc.record({
  events: fc.array(fc.array(geminiPart, { maxLength: 4 }), { minLength: 1, maxLength: 6 }),
  crlf: fc.boolean(),
  cuts: fc.array(fc.nat(), { maxLength: 12 }),
});

test('(b) stream translation never loses text or tool-call arguments, however the bytes are split', () => {
  fc.assert(
    fc.property(streamCase, ({ events, crlf, cuts }) => {
      const last = events.length - 1;
      const sep = crlf ? '\r\n\r\n' : '\n\n';
      const sse = events
        .map((parts, i) => {
          const candidate = { content: { role: 'model', parts }, index: 0, ...(i === last ? { finishReason: 'STOP' } : {}) };
          return `data: ${JSON.stringify({ candidates: [candidate], usageMetadata: { promptTokenCount: 1, candidatesTokenCount: i, totalTokenCount: 1 + i } })}${sep}`;
        })
        .join('');
      const bytes = new TextEncoder().encode(sse);
      const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
      const pieces = [0, ...points].map((from, i) => bytes.subarray(from, [...points, bytes.length][i]));

      const translator = geminiDialect.createStreamTranslator(streamCtx);
      const out = pieces.map((p) => translator.push(p)).join('') + translator.end();
      const norm = normalizeStream(out);
      assert.deepEqual(norm.problems, []);

      const all = events.flat();
      const wantText = all.map((p) => ('text' in p && !p.thought ? p.text : '')).join('');
      const wantCalls = all.flatMap((p) => ('functionCall' in p ? [JSON.parse(JSON.stringify(p.functionCall)) as { name: string; args: unknown }] : []));
      assert.equal(norm.content, wantText);
      assert.equal(norm.toolCalls.size, wantCalls.length);
      wantCalls.forEach((call, i) => {
        const got = norm.toolCalls.get(i);
        assert.equal(got?.name, call.name);
        assert.ok(isDeepStrictEqual(JSON.parse(got?.arguments ?? 'null'), call.args));
      });
      assert.equal(norm.finishReason, wantCalls.length > 0 ? 'tool_calls' : 'stop');
      assert.equal(translator.usage?.completionTokens, last);
    }),
    { numRuns: 400 },
  );
});
