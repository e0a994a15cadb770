import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseOpenAIError } from '../../../src/dialects/openai-compat/errors.ts';
import { toOpenAIError } from '../../../src/errors/to-openai.ts';
import { assertErrorMatches } from '../../support/openai-compare.ts';
import { utf8, wireBytes, wireText } from '../../support/unit/bytes.ts';

const none = (): undefined => undefined;

test('status mapping: caller faults kept, provider auth/not-found hidden behind 502', () => {
  const table: Array<[number, number, string]> = [
    [400, 400, 'invalid_request_error'],
    [401, 502, 'api_error'],
    [403, 502, 'api_error'],
    [404, 502, 'api_error'],
    [408, 504, 'timeout_error'],
    [413, 413, 'invalid_request_error'],
    [422, 400, 'invalid_request_error'],
    [429, 429, 'rate_limit_error'],
    [500, 502, 'api_error'],
    [502, 502, 'api_error'],
    [503, 503, 'service_unavailable_error'],
    [504, 504, 'timeout_error'],
    [529, 503, 'service_unavailable_error'],
    [302, 502, 'api_error'],
  ];
  for (const [upstream, status, type] of table) {
    const err = parseOpenAIError(upstream, none, utf8('{}'));
    assert.deepEqual({ status: err.status, type: err.openaiType }, { status, type }, String(upstream));
  }
});

test('the rate-limit fixture: 429, generic words (no org id), rate_limit_exceeded, retry-after kept', () => {
  const { headers } = JSON.parse(wireText('openai/error_rate_limit.headers.json')) as { headers: Record<string, string> };
  const err = parseOpenAIError(429, (n) => headers[n], wireBytes('openai/error_rate_limit.json'));
  const out = toOpenAIError(err);
  assertErrorMatches({ status: 429, headers, body: {} }, { status: out.status, headers: out.headers, body: out.body });
  assert.equal(out.body.error.type, 'rate_limit_error');
  assert.equal(out.body.error.code, 'rate_limit_exceeded');
  assert.equal(out.headers['retry-after'], '1');
  assert.doesNotMatch(out.body.error.message, /org-/);
});

test("a 400 keeps the provider's message (scrubbed), param and code", () => {
  const body = { error: { message: "Invalid value for 'temperature' with key sk-proj-abcdefghijklmnop", type: 'invalid_request_error', param: 'temperature', code: 'invalid_value' } };
  const err = parseOpenAIError(400, none, utf8(JSON.stringify(body)));
  assert.equal(err.status, 400);
  assert.equal(err.param, 'temperature');
  assert.equal(err.code, 'invalid_value');
  assert.match(err.message, /Invalid value for 'temperature'/);
  assert.doesNotMatch(err.message, /sk-proj/);
});

test("a 401 from the provider hides the provider's words and key", () => {
  const body = { error: { message: 'Incorrect API key provided: sk-live-abcdefghijklmnop', type: 'invalid_request_error', code: 'invalid_api_key', param: null } };
  const err = parseOpenAIError(401, none, utf8(JSON.stringify(body)));
  assert.deepEqual([err.status, err.openaiType, err.code, err.param], [502, 'api_error', 'upstream_auth_failed', null]);
  assert.doesNotMatch(err.message, /sk-|Incorrect/);
});

test('other body shapes: error as a string, top-level message, not JSON', () => {
  assert.equal(parseOpenAIError(400, none, utf8('{"error":"bad thing"}')).message, 'bad thing');
  assert.equal(parseOpenAIError(422, none, utf8('{"message":"unprocessable"}')).message, 'unprocessable');
  const html = parseOpenAIError(500, none, utf8('<html>Bad Gateway</html>'));
  assert.equal(html.status, 502);
  assert.equal(html.message, 'The upstream provider failed to process the request.');
  assert.equal(parseOpenAIError(400, none, utf8('<html>')).message, 'The model provider rejected the request as invalid.');
});

test('retry-after as an HTTP date or seconds; absent when missing', () => {
  assert.equal(parseOpenAIError(503, (n) => (n === 'retry-after' ? '7' : undefined), utf8('{}')).retryAfterSeconds, 7);
  assert.equal(parseOpenAIError(503, none, utf8('{}')).retryAfterSeconds, undefined);
  // Only 429 and 503 carry it on to the caller.
  assert.equal(parseOpenAIError(500, (n) => (n === 'retry-after' ? '7' : undefined), utf8('{}')).retryAfterSeconds, undefined);
});
