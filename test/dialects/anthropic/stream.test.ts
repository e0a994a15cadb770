import assert from 'node:assert/strict';
import { test } from 'node:test';
import { anthropicDialect } from '../../../src/dialects/anthropic/index.ts';
import { GatewayError } from '../../../src/errors/gateway-error.ts';
import { assertStreamMatches, normalizeStream } from '../../support/openai-compare.ts';
import {
  bytesOf,
  fixtureBytes,
  fixtureText,
  messageEnd,
  messageStart,
  oneBytePieces,
  openAIEvents,
  splitAt,
  sseEvent,
  streamContext,
  translateStream,
} from './helpers.ts';

const textStart = (index: number) => sseEvent({ type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
const textDelta = (index: number, text: string) => sseEvent({ type: 'content_block_delta', index, delta: { type: 'text_delta', text } });
const toolStart = (index: number, id: string, name: string) =>
  sseEvent({ type: 'content_block_start', index, content_block: { type: 'tool_use', id, name, input: {} } });
const jsonDelta = (index: number, partial: string) => sseEvent({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: partial } });
const blockStop = (index: number) => sseEvent({ type: 'content_block_stop', index });

/** Every way of feeding `bytes` the brief asks for; each must give the same output. */
function allFeedings(bytes: Uint8Array): Array<[string, string]> {
  const runs: Array<[string, string]> = [
    ['whole', translateStream([bytes])],
    ['one byte per push', translateStream(oneBytePieces(bytes))],
  ];
  for (let offset = 1; offset < bytes.length; offset++) runs.push([`split at ${offset}`, translateStream(splitAt(bytes, [offset]))]);
  return runs;
}

for (const name of ['stream_text', 'stream_tool_use']) {
  test(`golden: anthropic/${name}.sse → expected/anthropic_${name}.openai.sse, fed whole, bytewise and split at every offset`, () => {
    const bytes = fixtureBytes(`anthropic/${name}.sse`);
    const expected = fixtureText(`expected/anthropic_${name}.openai.sse`);
    const [[, whole], ...others] = allFeedings(bytes) as [[string, string], ...Array<[string, string]>];
    assertStreamMatches(expected, whole);
    for (const [how, out] of others) assert.equal(out, whole, how);
  });
}

test('every chunk shares the context id/created/model; the provider model is never named', () => {
  const out = translateStream([fixtureBytes('anthropic/stream_tool_use.sse')]);
  const chunks = openAIEvents(out).filter((e): e is Record<string, unknown> => typeof e === 'object');
  const ctx = streamContext();
  for (const chunk of chunks) {
    assert.equal(chunk['id'], ctx.id);
    assert.equal(chunk['created'], ctx.created);
    assert.equal(chunk['model'], ctx.publicModel);
  }
  assert.doesNotMatch(out, /claude/);
});

test('without include_usage: no usage keys and no usage chunk', () => {
  const out = translateStream([fixtureBytes('anthropic/stream_text.sse')], streamContext(false));
  assert.doesNotMatch(out, /"usage"/);
  const norm = normalizeStream(out);
  assert.deepEqual(norm.problems, []);
  assert.equal(norm.content, 'Hello! How can I help you with your Northwind order today?');
  assert.equal(openAIEvents(out).at(-1), '[DONE]');
});

test('usage: message_start input/cache counts + the last message_delta output (no placeholder added)', () => {
  const translator = anthropicDialect.createStreamTranslator(streamContext());
  assert.equal(translator.usage, undefined);
  const start = sseEvent({
    type: 'message_start',
    message: { type: 'message', role: 'assistant', content: [], usage: { input_tokens: 10, cache_creation_input_tokens: 20, cache_read_input_tokens: 30, output_tokens: 1 } },
  });
  translator.push(bytesOf(start + textStart(0) + textDelta(0, 'x')));
  assert.deepEqual(translator.usage, { promptTokens: 60, completionTokens: 1, cachedTokens: 30, cacheWriteTokens: 20 });
  const delta = (n: number) => sseEvent({ type: 'message_delta', delta: { stop_reason: null }, usage: { output_tokens: n } });
  translator.push(bytesOf(delta(3) + delta(8) + sseEvent({ type: 'message_delta', delta: { stop_reason: 'max_tokens' }, usage: { output_tokens: 9 } })));
  const out = translator.push(bytesOf(sseEvent({ type: 'message_stop' }))) + translator.end();
  assert.deepEqual(translator.usage, { promptTokens: 60, completionTokens: 9, cachedTokens: 30, cacheWriteTokens: 20 });
  const norm = normalizeStream(out);
  assert.deepEqual(norm.usage, { prompt_tokens: 60, completion_tokens: 9, total_tokens: 69, prompt_tokens_details: { cached_tokens: 30 } });
});

test('a split inside a multi-byte UTF-8 character survives every split point', () => {
  const text = 'Grüße — 東京 😀👩🏽‍💻!';
  const sse = messageStart() + textStart(0) + textDelta(0, text.slice(0, 7)) + textDelta(0, text.slice(7)) + blockStop(0) + messageEnd('end_turn');
  const bytes = bytesOf(sse);
  const emoji = bytes.indexOf(0xf0);
  assert.ok(emoji > 0, 'the stream contains a 4-byte character');
  const runs = allFeedings(bytes);
  assert.ok(runs.some(([how]) => how === `split at ${emoji + 2}`), 'one split falls inside the emoji');
  for (const [how, out] of runs) {
    const norm = normalizeStream(out);
    assert.deepEqual(norm.problems, [], how);
    assert.equal(norm.content, text, how);
  }
});

test('a reply that starts with tool calls: content null on the role chunk, indices are call ordinals', () => {
  const toolFirst =
    messageStart() + toolStart(0, 'toolu_A', 'a') + jsonDelta(0, '') + jsonDelta(0, '{"x":') + jsonDelta(0, '1}') + blockStop(0) + toolStart(1, 'toolu_B', 'b') + jsonDelta(1, '{}') + blockStop(1) + messageEnd('tool_use');
  const out = translateStream([bytesOf(toolFirst)]);
  const [first] = openAIEvents(out) as Array<{ choices: Array<{ delta: Record<string, unknown> }> }>;
  assert.deepEqual(first?.choices[0]?.delta, {
    role: 'assistant',
    content: null,
    tool_calls: [{ index: 0, id: 'toolu_A', type: 'function', function: { name: 'a', arguments: '' } }],
  });
  const norm = normalizeStream(out);
  assert.deepEqual(norm.problems, []);
  assert.equal(norm.finishReason, 'tool_calls');
  assert.deepEqual([...norm.toolCalls.entries()], [
    [0, { id: 'toolu_A', name: 'a', arguments: '{"x":1}' }],
    [1, { id: 'toolu_B', name: 'b', arguments: '{}' }],
  ]);
});

test('thinking, server-tool blocks, pings and unknown events are skipped; tool ordinals ignore them', () => {
  const sse =
    messageStart() +
    sseEvent({ type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } }) +
    sseEvent({ type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'secret plan' } }) +
    sseEvent({ type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'c2ln' } }) +
    blockStop(0) +
    sseEvent({ type: 'ping' }) +
    sseEvent({ type: 'content_block_start', index: 1, content_block: { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: {} } }) +
    jsonDelta(1, '{"query":"x"}') +
    sseEvent({ type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'web_search hidden' } }) +
    blockStop(1) +
    sseEvent({ type: 'brand_new_event', whatever: true }) +
    sseEvent({ type: 'toString' }) +
    sseEvent({ type: '__proto__' }) +
    textStart(2) +
    textDelta(2, 'Answer') +
    sseEvent({ type: 'content_block_delta', index: 2, delta: { type: 'citations_delta', citation: {} } }) +
    blockStop(2) +
    toolStart(3, 'toolu_Z', 'z') +
    blockStop(3) +
    messageEnd('tool_use');
  const out = translateStream([bytesOf(sse)]);
  assert.doesNotMatch(out, /secret plan|web_search|srvtoolu/);
  const norm = normalizeStream(out);
  assert.deepEqual(norm.problems, []);
  assert.equal(norm.content, 'Answer');
  assert.deepEqual([...norm.toolCalls.entries()], [[0, { id: 'toolu_Z', name: 'z', arguments: '{}' }]], 'a call without input fragments gets "{}"');
  const [first] = openAIEvents(out) as Array<{ choices: Array<{ delta: Record<string, unknown> }> }>;
  assert.deepEqual(first?.choices[0]?.delta, { role: 'assistant', content: '' });
});

test('finish chunk exactly once, even without a message_delta stop reason', () => {
  const noDelta = messageStart() + textStart(0) + textDelta(0, 'hi') + blockStop(0) + sseEvent({ type: 'message_stop' });
  const norm = normalizeStream(translateStream([bytesOf(noDelta)]));
  assert.deepEqual(norm.problems, []);
  assert.equal(norm.finishReason, 'stop');
  const empty = normalizeStream(translateStream([bytesOf(messageStart() + messageEnd('max_tokens'))]));
  assert.deepEqual(empty.problems, []);
  assert.equal(empty.role, 'assistant');
  assert.equal(empty.finishReason, 'length');
});

test('an error event mid-stream → one OpenAI error event, no [DONE], nothing after', () => {
  const sse = messageStart() + textStart(0) + textDelta(0, 'Hel') + 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n';
  const translator = anthropicDialect.createStreamTranslator(streamContext());
  const out = translator.push(bytesOf(sse));
  assert.equal(translator.push(bytesOf(textDelta(0, 'lo') + messageEnd('end_turn'))), '');
  assert.equal(translator.end(), '');
  const events = openAIEvents(out);
  assert.deepEqual(events.at(-1), {
    error: { message: 'The model is currently overloaded. Please try again later.', type: 'service_unavailable_error', param: null, code: 'server_is_overloaded' },
  });
  assert.ok(!events.includes('[DONE]'));
  const norm = normalizeStream(out);
  assert.deepEqual(norm.problems, []);
  assert.equal(norm.content, 'Hel');
});

test('a stream that ends without message_stop → an error event at end(), never [DONE]', () => {
  const translator = anthropicDialect.createStreamTranslator(streamContext());
  const out = translator.push(bytesOf(messageStart() + textStart(0) + textDelta(0, 'partial')));
  const tail = translator.end();
  assert.ok(!tail.includes('[DONE]'));
  const [event] = openAIEvents(tail) as Array<{ error: { code: string } }>;
  assert.equal(event?.error.code, 'upstream_stream_truncated');
  assert.deepEqual(normalizeStream(out + tail).problems, []);
  const nothing = anthropicDialect.createStreamTranslator(streamContext());
  assert.match(nothing.end(), /upstream_stream_truncated/);
});

test('an unterminated final event is still delivered at end()', () => {
  const sse = messageStart() + textStart(0) + textDelta(0, 'x') + blockStop(0) + messageEnd('end_turn').replace(/\n\n$/, '');
  const norm = normalizeStream(translateStream([bytesOf(sse)]));
  assert.deepEqual(norm.problems, []);
  assert.equal(norm.content, 'x');
});

test('malformed upstream data → a 502 error event', () => {
  const cases = [
    messageStart() + 'event: content_block_delta\ndata: {not json\n\n',
    messageStart() + sseEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'orphan' } }),
    messageStart() + textStart(0) + jsonDelta(0, '{}'),
    messageStart() + toolStart(0, 'toolu_1', 'f') + textDelta(0, 'x'),
    messageStart() + sseEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text' } }),
    textStart(0),
    messageStart() + messageStart(),
    'data: [1,2]\n\n',
  ];
  for (const sse of cases) {
    const out = translateStream([bytesOf(sse)]);
    const last = openAIEvents(out).at(-1) as { error?: { code?: string } } | undefined;
    assert.equal(last?.error?.code, 'upstream_malformed', sse);
  }
});

test('push after end throws a GatewayError; so does a second end', () => {
  const translator = anthropicDialect.createStreamTranslator(streamContext());
  translator.push(fixtureBytes('anthropic/stream_text.sse'));
  translator.end();
  assert.throws(() => translator.push(new Uint8Array([1])), GatewayError);
  assert.throws(() => translator.end(), GatewayError);
});

test('[DONE] is emitted at message_stop, and nothing after it', () => {
  const translator = anthropicDialect.createStreamTranslator(streamContext());
  const out = translator.push(fixtureBytes('anthropic/stream_text.sse'));
  assert.ok(out.endsWith('data: [DONE]\n\n'));
  assert.equal(translator.push(bytesOf(textDelta(0, 'late'))), '');
  assert.equal(translator.end(), '');
});
