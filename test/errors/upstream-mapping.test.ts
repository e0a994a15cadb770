import assert from 'node:assert/strict';
import { test } from 'node:test';
import { anthropicDialect } from '../../src/dialects/anthropic/index.ts';
import { streamError } from '../../src/dialects/anthropic/errors.ts';
import { geminiDialect } from '../../src/dialects/gemini/index.ts';
import { upstreamErrorFrom } from '../../src/dialects/gemini/errors.ts';
import { openaiDialect } from '../../src/dialects/openai-compat/index.ts';
import { toOpenAIError } from '../../src/errors/to-openai.ts';
import { kindOfStatus, mapProviderFailure, UPSTREAM_ERROR_TABLE } from '../../src/errors/upstream-mapping.ts';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const LEAKY = 'bad thing at api.provider.com for org-AbCdEf1234567890 key sk-abcdefghijklmnop https://x.example.com/y';

/** The same provider failure in each wire format's own error body. */
function inEachFormat(status: number, retryAfter?: string) {
  const headers = (n: string): string | undefined => (n === 'retry-after' ? retryAfter : undefined);
  return {
    openai: openaiDialect.parseError(status, headers, utf8(JSON.stringify({ error: { message: LEAKY, type: 'x', param: null, code: null } }))),
    anthropic: anthropicDialect.parseError(status, headers, utf8(JSON.stringify({ type: 'error', error: { type: 'api_error', message: LEAKY } }))),
    gemini: geminiDialect.parseError(status, headers, utf8(JSON.stringify({ error: { code: status, message: LEAKY, status: 'X' } }))),
  };
}

test('one mapping for every wire format: status, type, code, retry-after and the text rule', () => {
  const expected: Array<[number, number, string, string | null]> = [
    [400, 400, 'invalid_request_error', null],
    [401, 502, 'api_error', 'upstream_auth_failed'],
    [402, 502, 'api_error', 'upstream_auth_failed'],
    [403, 502, 'api_error', 'upstream_auth_failed'],
    [404, 502, 'api_error', 'upstream_not_found'],
    [408, 504, 'timeout_error', 'upstream_timeout'],
    [409, 400, 'invalid_request_error', null],
    [413, 413, 'invalid_request_error', 'request_too_large'],
    [422, 400, 'invalid_request_error', null],
    [429, 429, 'rate_limit_error', 'rate_limit_exceeded'],
    [499, 502, 'api_error', 'upstream_error'],
    [500, 502, 'api_error', 'upstream_error'],
    [502, 502, 'api_error', 'upstream_error'],
    [503, 503, 'service_unavailable_error', 'server_is_overloaded'],
    [504, 504, 'timeout_error', 'upstream_timeout'],
    [529, 503, 'service_unavailable_error', 'server_is_overloaded'],
  ];
  for (const [status, callerStatus, type, code] of expected) {
    for (const [format, err] of Object.entries(inEachFormat(status, '3'))) {
      const out = toOpenAIError(err);
      const where = `${format} ${status}`;
      assert.deepEqual([out.status, out.body.error.type, out.body.error.code], [callerStatus, type, code], where);
      assert.equal(out.headers['retry-after'], callerStatus === 429 || callerStatus === 503 ? '3' : undefined, where);
      // The provider's words reach the caller only for a fault in the request, and then scrubbed.
      if (callerStatus === 400 || callerStatus === 413) assert.match(out.body.error.message, /^bad thing at \[redacted\]/, where);
      else assert.doesNotMatch(out.body.error.message, /bad thing/, where);
      assert.doesNotMatch(out.body.error.message, /provider\.com|org-|sk-|example|https?:/, where);
    }
  }
});

test('errors inside a 200 stream map by the status their type documents, like HTTP errors', () => {
  const anthropic = streamError({ type: 'overloaded_error', message: 'Overloaded' });
  const gemini = upstreamErrorFrom(503, { code: 503, message: 'The model is overloaded.', status: 'UNAVAILABLE' });
  for (const err of [anthropic, gemini]) assert.deepEqual([err.status, err.openaiType, err.code], [503, 'service_unavailable_error', 'server_is_overloaded']);
});

test("OpenAI-shaped providers keep their param and code on request faults only (LangChain reads context_length_exceeded)", () => {
  const ctx = mapProviderFailure({ status: 400, message: 'too long', param: 'messages', code: 'context_length_exceeded' });
  assert.deepEqual([ctx.param, ctx.code], ['messages', 'context_length_exceeded']);
  const quota = mapProviderFailure({ status: 429, message: 'You exceeded your current quota', code: 'insufficient_quota', param: 'x' });
  assert.deepEqual([quota.param, quota.code], [null, 'rate_limit_exceeded']);
});

test('every kind has a row, and every status has a kind', () => {
  for (let s = 100; s < 600; s++) assert.ok(UPSTREAM_ERROR_TABLE[kindOfStatus(s)], String(s));
  const huge = mapProviderFailure({ status: 400, message: 'x'.repeat(10_000) });
  assert.ok(huge.message.length <= 2000);
  assert.equal(mapProviderFailure({ status: 400, message: '   ' }).message, UPSTREAM_ERROR_TABLE.invalid_request.message);
});

test("a body that blames the caller cannot turn the provider's status into the caller's fault", () => {
  const headers = (): undefined => undefined;
  for (const status of [401, 403, 404, 408, 429, 500, 503]) {
    const errs = {
      openai: openaiDialect.parseError(status, headers, utf8(JSON.stringify({ error: { message: 'Invalid value', type: 'invalid_request_error', param: 'x', code: 'invalid_value' } }))),
      anthropic: anthropicDialect.parseError(status, headers, utf8(JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message: 'Invalid value' } }))),
      gemini: geminiDialect.parseError(status, headers, utf8(JSON.stringify({ error: { code: 400, message: 'Invalid value', status: 'INVALID_ARGUMENT' } }))),
    };
    const expected = UPSTREAM_ERROR_TABLE[kindOfStatus(status)];
    for (const [format, err] of Object.entries(errs)) {
      const out = toOpenAIError(err);
      assert.equal(out.status, expected.status, `${format} ${status}`);
      assert.equal(out.body.error.message.includes('Invalid value'), false, `${format} ${status}: the provider's text stays out`);
    }
  }
});

test("a provider's code and param pass only when they look like an identifier and a parameter path", () => {
  const free = mapProviderFailure({ status: 400, message: 'Bad', code: 'bad_Invalid value sk-proj-AbCdEf1234567890', param: 'messages[0].content; see https://x.io' });
  assert.equal(free.code, null);
  assert.equal(free.param, null);
  const fine = mapProviderFailure({ status: 400, message: 'Bad', code: 'context_length_exceeded', param: 'messages[0].content' });
  assert.equal(fine.code, 'context_length_exceeded');
  assert.equal(fine.param, 'messages[0].content');
});
