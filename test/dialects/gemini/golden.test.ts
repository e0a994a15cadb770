import { test } from 'node:test';
import assert from 'node:assert/strict';
import { geminiDialect } from '../../../src/dialects/gemini/index.ts';
import { toOpenAIError } from '../../../src/errors/to-openai.ts';
import { assertCompletionMatches, assertErrorMatches, assertStreamMatches, type ErrorEnvelope } from '../../support/openai-compare.ts';
import { chatRequest, geminiBody, oneBytePieces, responseCtx, target, translate, wireBytes, wireJson, wireText } from './support.ts';

// Every Gemini fixture of the wire ground truth against its expected OpenAI output (README 6.2).

for (const name of ['generate_text', 'generate_function_call']) {
  test(`gemini/${name}.json → expected/gemini_${name}.openai.json`, () => {
    const { completion, usage } = geminiDialect.parseResponse(wireBytes(`gemini/${name}.json`), responseCtx);
    assertCompletionMatches(wireJson(`expected/gemini_${name}.openai.json`), completion, { ignoreToolCallIds: true });
    assert.equal(completion.id, responseCtx.id);
    assert.equal(completion.model, responseCtx.publicModel);
    assert.ok(usage);
  });
}

test('gemini/stream_text.sse → expected/gemini_stream_text.openai.sse (whole, byte by byte, every split)', () => {
  const bytes = wireBytes('gemini/stream_text.sse');
  const expected = wireText('expected/gemini_stream_text.openai.sse');
  const whole = translate([bytes]).out;
  assertStreamMatches(expected, whole, { ignoreToolCallIds: true });
  assert.equal(translate(oneBytePieces(bytes)).out, whole);
  for (let at = 0; at <= bytes.length; at++) {
    assert.equal(translate([bytes.subarray(0, at), bytes.subarray(at)]).out, whole, `split at byte ${at}`);
  }
});

test('gemini/error_resource_exhausted.json → expected/gemini_error_resource_exhausted.openai.json', () => {
  const meta = wireJson('gemini/error_resource_exhausted.headers.json') as { status: number; headers: Record<string, string> };
  const err = geminiDialect.parseError(meta.status, (h) => meta.headers[h], wireBytes('gemini/error_resource_exhausted.json'));
  const actual = toOpenAIError(err);
  const expected = wireJson('expected/gemini_error_resource_exhausted.openai.json') as ErrorEnvelope;
  assertErrorMatches(expected, actual);
  assert.equal(actual.headers['retry-after'], expected.headers['retry-after']);
  assert.deepEqual(actual.body, {
    error: { ...(expected.body as { error: Record<string, unknown> }).error, type: 'rate_limit_error' },
  });
});

for (const name of ['text_stream', 'tool_roundtrip']) {
  test(`requests/openai_${name}.request.json → expected/gemini_${name}.request.json`, () => {
    assert.deepEqual(geminiBody(wireJson(`requests/openai_${name}.request.json`)), wireJson(`expected/gemini_${name}.request.json`));
  });
}

test('request path and headers follow stream', () => {
  const build = (file: string) => geminiDialect.buildRequest(chatRequest(wireJson(file)), target);
  assert.equal(build('requests/openai_text_stream.request.json').path, '/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
  const plain = build('requests/openai_tool_roundtrip.request.json');
  assert.equal(plain.path, '/models/gemini-2.5-flash:generateContent');
  assert.deepEqual(plain.headers, { 'content-type': 'application/json' });
});
