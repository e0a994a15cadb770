import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { anthropicDialect } from '../../src/dialects/anthropic/index.ts';
import type { Dialect, StreamContext } from '../../src/dialects/dialect.ts';
import { geminiDialect } from '../../src/dialects/gemini/index.ts';
import { openaiDialect } from '../../src/dialects/openai-compat/index.ts';
import { assembleCompletion } from '../../src/openai/assemble-chunks.ts';
import { completionToChunks } from '../../src/openai/completion-to-chunks.ts';
import { assertValidOutcome, assertValidStream, cut } from './schema-check.ts';

// Property: whatever a provider sends (the oddities of issue 7 item 2 included), what the
// gateway writes validates against the OpenAI schema, through each dialect's translator, as a
// stream, as a completion, and across the shape changes (SSE assembled, JSON wrapped).

const LABEL = { id: 'chatcmpl-0123456789abcdef01234567', created: 1700000000, publicModel: 'public-model' };
const ctx = (includeUsage: boolean): StreamContext => ({ ...LABEL, includeUsage });
const enc = (s: string) => new TextEncoder().encode(s);
const absent = fc.constant(undefined);

function translate(dialect: Dialect, pieces: Uint8Array[], includeUsage: boolean): string {
  const t = dialect.createStreamTranslator(ctx(includeUsage));
  return pieces.map((p) => t.push(p)).join('') + t.end();
}

/** Non-stream outcomes of one body: as JSON, wrapped into a stream, and (streams) assembled. */
function checkBody(dialect: Dialect, body: Uint8Array, includeUsage: boolean): void {
  let parsed: ReturnType<Dialect['parseResponse']> | undefined;
  assertValidOutcome(() => (parsed = dialect.parseResponse(body, LABEL)).completion);
  if (parsed) assertValidStream(completionToChunks(parsed.completion, ctx(includeUsage)), includeUsage);
}

function checkAssembled(dialect: Dialect, sse: Uint8Array): void {
  assertValidOutcome(() => assembleCompletion(dialect.createStreamTranslator(ctx(true)), sse, LABEL));
}

// ------------------------------------------------------------------ OpenAI-compatible

const finishReason = fc.constantFrom(null, undefined, 'stop', 'eos', 'eos_token', 'stop_sequence', 'end_turn', 'model_length', 'max_tokens', 'length', 'tool_calls', 'content_filter', 'function_call', 'error', 'weird', 'STOP', 42);
const count = fc.oneof({ weight: 4, arbitrary: fc.nat(5000) }, fc.constant(null), absent, fc.double(), fc.constant(-3), fc.constant('7'));
const usage = fc.oneof(
  absent,
  fc.constant(null),
  fc.record(
    { prompt_tokens: count, completion_tokens: count, total_tokens: count, prompt_tokens_details: fc.option(fc.record({ cached_tokens: count })), completion_tokens_details: fc.oneof(fc.constant(null), fc.record({ reasoning_tokens: count })) },
    { requiredKeys: [] },
  ),
);
const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 20 }), fc.constantFrom('', 'Hi', '{"a":'));
const toolCallDelta = fc.record(
  {
    index: fc.oneof(fc.nat(2), absent, fc.constant(-1)),
    id: fc.oneof(fc.constantFrom('call_1', 'call_2', ''), absent, fc.constant(null)),
    type: fc.constantFrom('function', undefined, 'x'),
    function: fc.oneof(absent, fc.record({ name: fc.oneof(fc.constantFrom('f', 'g'), fc.constant(null)), arguments: fc.oneof(text, fc.jsonValue({ maxDepth: 2 })) }, { requiredKeys: [] })),
  },
  { requiredKeys: [] },
);
const content = fc.oneof(text, fc.constant(null), fc.integer(), fc.array(fc.record({ type: fc.constant('text'), text }), { maxLength: 2 }));
const logprobs = fc.oneof(absent, fc.constant(null), fc.constant('bad'), fc.constant({ content: null }), fc.constant({ content: [{ token: 'a', logprob: -1, bytes: [97], top_logprobs: [] }], refusal: null }), fc.constant({ content: [{ token: 'a' }] }));
const delta = fc.record(
  { role: fc.constantFrom('assistant', 'model', null, 5), content, refusal: fc.option(text), tool_calls: fc.oneof(fc.array(toolCallDelta, { maxLength: 2 }), fc.constant(null)), reasoning_content: text, function_call: fc.oneof(fc.constant(null), fc.record({ name: fc.string(), arguments: text }, { requiredKeys: [] })) },
  { requiredKeys: [] },
);
const chunkChoice = fc.record({ index: fc.oneof(fc.constantFrom(0, 0, 1), absent, fc.constant('0')), delta: fc.oneof(delta, absent, fc.constant(null)), finish_reason: finishReason, logprobs }, { requiredKeys: [] });
const top = {
  id: fc.oneof(fc.string(), absent, fc.constant(null)),
  created: fc.oneof(fc.constant(1764460800), absent, fc.double(), fc.constant('now')),
  model: fc.oneof(fc.string(), absent, fc.constant(null)),
  usage,
  system_fingerprint: fc.oneof(fc.constant(null), fc.string(), absent, fc.integer()),
  service_tier: fc.constantFrom('default', 'on_demand', null, undefined, 'flex'),
};
const chunk = fc.record(
  { ...top, object: fc.constantFrom('chat.completion.chunk', undefined, 'x'), choices: fc.oneof(absent, fc.constant([]), fc.constant(null), fc.array(chunkChoice, { minLength: 1, maxLength: 2 })), obfuscation: fc.oneof(fc.string(), absent, fc.integer()) },
  { requiredKeys: [] },
);
const streamEnd = fc.constantFrom('data: [DONE]\n\n', '', 'data: {"error":{"message":"boom","type":"server_error"}}\n\n', 'data: {bad json\n\n', 'data: [DONE]\n\ndata: {"late":true}\n\n');
const openaiStream = fc.record({ chunks: fc.array(chunk, { maxLength: 6 }), end: streamEnd, crlf: fc.boolean(), cuts: fc.array(fc.nat(), { maxLength: 8 }), includeUsage: fc.boolean() });

const message = fc.record(
  {
    role: fc.constantFrom('assistant', 'model', undefined, null),
    content,
    refusal: fc.oneof(text, fc.constant(null), absent, fc.integer()),
    tool_calls: fc.oneof(absent, fc.constant(null), fc.array(fc.record({ id: fc.oneof(fc.constantFrom('call_1', ''), absent), type: fc.constantFrom('function', undefined), function: fc.oneof(absent, fc.record({ name: fc.oneof(fc.constantFrom('f'), absent), arguments: fc.oneof(text, fc.jsonValue({ maxDepth: 2 }), absent) }, { requiredKeys: [] })) }, { requiredKeys: [] }), { maxLength: 3 })),
    reasoning_content: text,
    annotations: fc.constantFrom(undefined, 'x', [], [{ type: 'url_citation', url_citation: { start_index: 0, end_index: 1, url: 'https://x.test', title: 't' } }]),
  },
  { requiredKeys: [] },
);
const completion = fc.record(
  { ...top, object: fc.constantFrom('chat.completion', undefined), choices: fc.oneof(
      { weight: 8, arbitrary: fc.array(fc.record({ index: fc.oneof(fc.nat(2), absent), message: fc.oneof(message, absent), finish_reason: finishReason, logprobs }, { requiredKeys: [] }), { minLength: 1, maxLength: 2 }) },
      fc.constantFrom(undefined, 'x', []),
    ),
    error: fc.oneof({ weight: 8, arbitrary: absent }, fc.constant({ message: 'no' })),
  },
  { requiredKeys: [] },
);

describe('property: OpenAI-compatible output validates against the OpenAI schema', () => {
  test('streams: every chunk, any split, with or without include_usage; the split never changes the output', () => {
    fc.assert(
      fc.property(openaiStream, ({ chunks, end, crlf, cuts, includeUsage }) => {
        const sep = crlf ? '\r\n\r\n' : '\n\n';
        const sse = enc(chunks.map((c) => `data: ${JSON.stringify(c)}${sep}`).join('') + end);
        const whole = translate(openaiDialect, [sse], includeUsage);
        assertValidStream(whole, includeUsage);
        assert.equal(translate(openaiDialect, cut(sse, cuts), includeUsage), whole);
        checkAssembled(openaiDialect, sse);
      }),
      { numRuns: 600 },
    );
  });

  test('completions: a valid completion or an OpenAI error (502-class for error finishes), and its wrapped stream validates too', () => {
    let completions = 0;
    fc.assert(
      fc.property(completion, fc.boolean(), (body, includeUsage) => {
        const bytes = enc(JSON.stringify(body));
        if (assertValidOutcome(() => openaiDialect.parseResponse(bytes, LABEL).completion) === 'completion') completions++;
        checkBody(openaiDialect, bytes, includeUsage);
      }),
      { numRuns: 600 },
    );
    assert.ok(completions > 100, `too few bodies became completions (${completions})`);
  });
});

// ------------------------------------------------------------------ Anthropic

const sse = (data: Record<string, unknown>) => `event: ${String(data['type'])}\ndata: ${JSON.stringify(data)}\n\n`;
const tokens = fc.nat(100_000);
const anthropicBlock = fc.oneof(
  fc.record({ kind: fc.constant('text' as const), pieces: fc.array(text, { maxLength: 3 }) }),
  fc.record({ kind: fc.constant('tool' as const), name: fc.constantFrom('f', 'get_weather'), pieces: fc.array(text, { maxLength: 3 }) }),
  fc.record({ kind: fc.constant('other' as const), type: fc.constantFrom('thinking', 'redacted_thinking', 'server_tool_use', 'future_block') }),
);
const stopReason = fc.constantFrom('end_turn', 'max_tokens', 'stop_sequence', 'tool_use', 'pause_turn', 'refusal', 'model_context_window_exceeded', 'something_new', null);
const anthropicStream = fc.record({
  input: tokens,
  cache: fc.oneof(tokens, fc.constant(null)),
  blocks: fc.array(anthropicBlock, { maxLength: 3 }),
  stop: stopReason,
  output: fc.oneof(tokens, absent),
  extra: fc.constantFrom('', sse({ type: 'ping' }), sse({ type: 'future_event', x: 1 }), sse({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })),
  finish: fc.constantFrom('stop', 'none', 'cut'),
  includeUsage: fc.boolean(),
  cuts: fc.array(fc.nat(), { maxLength: 6 }),
});

describe('property: Anthropic translation validates against the OpenAI schema', () => {
  test('streams (unknown stop reasons, events and block types, missing counts, errors, truncation) and their assembled completions', () => {
    fc.assert(
      fc.property(anthropicStream, (s) => {
        let body = sse({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: s.input, cache_read_input_tokens: s.cache, cache_creation_input_tokens: null, output_tokens: 1 } } });
        s.blocks.forEach((b, index) => {
          if (b.kind === 'text') {
            body += sse({ type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
            for (const piece of b.pieces) body += sse({ type: 'content_block_delta', index, delta: { type: 'text_delta', text: piece } });
          } else if (b.kind === 'tool') {
            body += sse({ type: 'content_block_start', index, content_block: { type: 'tool_use', id: `toolu_${index}`, name: b.name, input: {} } });
            for (const piece of b.pieces) body += sse({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: piece } });
          } else {
            body += sse({ type: 'content_block_start', index, content_block: { type: b.type } });
          }
          body += s.extra === '' ? '' : s.extra;
          body += sse({ type: 'content_block_stop', index });
        });
        body += sse({ type: 'message_delta', delta: { stop_reason: s.stop, stop_sequence: null }, usage: s.output === undefined ? {} : { output_tokens: s.output } });
        if (s.finish === 'stop') body += sse({ type: 'message_stop' });
        const bytes = enc(s.finish === 'cut' ? body.slice(0, -7) : body);
        assertValidStream(translate(anthropicDialect, cut(bytes, s.cuts), s.includeUsage), s.includeUsage);
        checkAssembled(anthropicDialect, bytes);
      }),
      { numRuns: 400 },
    );
  });

  test('messages: a valid completion or an OpenAI error, and the wrapped stream validates', () => {
    const block = fc.oneof(
      fc.record({ type: fc.constant('text'), text }),
      fc.record({ type: fc.constant('tool_use'), id: fc.constantFrom('toolu_1', 'toolu_2'), name: fc.constantFrom('f'), input: fc.oneof(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 })), absent) }, { requiredKeys: ['type', 'id', 'name'] }),
      fc.record({ type: fc.constantFrom('thinking', 'future_block') }),
    );
    const messageBody = fc.record({
      id: fc.constant('msg_1'),
      type: fc.constant('message'),
      role: fc.constant('assistant'),
      content: fc.array(block, { maxLength: 3 }),
      stop_reason: stopReason,
      usage: fc.record({ input_tokens: tokens, output_tokens: tokens, cache_read_input_tokens: fc.oneof(tokens, fc.constant(null)), cache_creation_input_tokens: fc.oneof(tokens, absent) }, { requiredKeys: ['input_tokens', 'output_tokens'] }),
    });
    fc.assert(
      fc.property(messageBody, fc.boolean(), (body, includeUsage) => checkBody(anthropicDialect, enc(JSON.stringify(body)), includeUsage)),
      { numRuns: 300 },
    );
  });
});

// ------------------------------------------------------------------ Gemini

const geminiPart = fc.oneof(
  fc.record({ text }),
  fc.record({ text, thought: fc.constant(true) }),
  fc.record({ functionCall: fc.record({ name: fc.constantFrom('f', 'get_weather'), args: fc.oneof(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 })), absent) }, { requiredKeys: ['name'] }), thoughtSignature: fc.oneof(fc.base64String({ minLength: 4, maxLength: 12 }), absent) }, { requiredKeys: ['functionCall'] }),
  fc.record({ executableCode: fc.constant({ code: 'x' }) }),
);
const geminiFinish = fc.constantFrom('STOP', 'MAX_TOKENS', 'SAFETY', 'RECITATION', 'OTHER', 'MALFORMED_FUNCTION_CALL', 'FUTURE_REASON', undefined);
const geminiCount = fc.oneof(fc.nat(5000), absent);
const usageMetadata = fc.oneof(absent, fc.record({ promptTokenCount: geminiCount, candidatesTokenCount: geminiCount, thoughtsTokenCount: geminiCount, cachedContentTokenCount: geminiCount, totalTokenCount: geminiCount }, { requiredKeys: [] }));
const candidate = fc.record({ content: fc.record({ role: fc.constant('model'), parts: fc.array(geminiPart, { maxLength: 3 }) }), index: fc.oneof(fc.constantFrom(0, 1), absent), finishReason: geminiFinish }, { requiredKeys: ['content'] });
const geminiResponse = fc.record({ candidates: fc.oneof(fc.array(candidate, { minLength: 1, maxLength: 2 }), absent), usageMetadata, promptFeedback: fc.oneof(absent, fc.constant({ blockReason: 'SAFETY' })), modelVersion: fc.constant('gemini-2.5-flash') }, { requiredKeys: [] });

describe('property: Gemini translation validates against the OpenAI schema', () => {
  test('streams (unknown finish reasons, missing counts, blocked prompts, several candidates) and their assembled completions', () => {
    fc.assert(
      fc.property(fc.array(geminiResponse, { minLength: 1, maxLength: 5 }), fc.boolean(), fc.array(fc.nat(), { maxLength: 6 }), (events, includeUsage, cuts) => {
        const bytes = enc(events.map((e) => `data: ${JSON.stringify(e)}\r\n\r\n`).join(''));
        assertValidStream(translate(geminiDialect, cut(bytes, cuts), includeUsage), includeUsage);
        checkAssembled(geminiDialect, bytes);
      }),
      { numRuns: 400 },
    );
  });

  test('generateContent responses: a valid completion or an OpenAI error, and the wrapped stream validates', () => {
    fc.assert(
      fc.property(geminiResponse, fc.boolean(), (body, includeUsage) => checkBody(geminiDialect, enc(JSON.stringify(body)), includeUsage)),
      { numRuns: 300 },
    );
  });
});
