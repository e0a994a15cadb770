import assert from 'node:assert/strict';
import { test } from 'node:test';
import { anthropicDialect } from '../../../src/dialects/anthropic/index.ts';
import { scrubSecrets } from '../../../src/lib/scrub.ts';
import { toOpenAIError } from '../../../src/errors/to-openai.ts';
import { assertErrorMatches, type ErrorEnvelope } from '../../support/openai-compare.ts';
import { bytesOf, fixtureBytes, fixtureJson } from './helpers.ts';

function headerLookup(headers: Record<string, string>) {
  return (name: string): string | undefined => headers[name];
}

function translate(status: number, type: string, message: string, headers: Record<string, string> = {}) {
  const body = bytesOf(JSON.stringify({ type: 'error', error: { type, message }, request_id: 'req_011CW3hTgA7pLs9QkV5nXcZe' }));
  return anthropicDialect.parseError(status, headerLookup(headers), body);
}

for (const name of ['error_overloaded', 'error_rate_limit']) {
  test(`golden: anthropic/${name} → expected/anthropic_${name}.openai.json`, () => {
    const meta = fixtureJson(`anthropic/${name}.headers.json`) as { status: number; headers: Record<string, string> };
    const err = anthropicDialect.parseError(meta.status, headerLookup(meta.headers), fixtureBytes(`anthropic/${name}.json`));
    const expected = fixtureJson(`expected/anthropic_${name}.openai.json`) as ErrorEnvelope & { body: { error: { code: string } } };
    const actual = toOpenAIError(err);
    assertErrorMatches(expected, actual);
    assert.equal(actual.headers['retry-after'], expected.headers['retry-after']);
    assert.equal(actual.body.error.code, expected.body.error.code);
  });
}

test('status mapping', () => {
  const cases: Array<[number, string, number, string]> = [
    [400, 'invalid_request_error', 400, 'invalid_request_error'],
    [401, 'authentication_error', 502, 'api_error'],
    [403, 'permission_error', 502, 'api_error'],
    [404, 'not_found_error', 502, 'api_error'],
    [413, 'request_too_large', 413, 'invalid_request_error'],
    [429, 'rate_limit_error', 429, 'rate_limit_error'],
    [500, 'api_error', 502, 'api_error'],
    [529, 'overloaded_error', 503, 'service_unavailable_error'],
    // The same provider status maps the same way for every wire format (issue 12 item 8).
    [503, 'api_error', 503, 'service_unavailable_error'],
    [504, 'timeout_error', 504, 'timeout_error'],
    [402, 'billing_error', 502, 'api_error'],
    [422, 'invalid_request_error', 400, 'invalid_request_error'],
  ];
  for (const [status, type, expectedStatus, expectedType] of cases) {
    const err = translate(status, type, 'upstream says no');
    assert.equal(err.status, expectedStatus, `${status} ${type}`);
    assert.equal(err.openaiType, expectedType, `${status} ${type}`);
    assert.ok(err.message.length > 0);
  }
});

test('400 keeps Anthropic text (it tells the caller what to fix); other statuses use gateway text', () => {
  assert.equal(translate(400, 'invalid_request_error', 'messages.1.content: Input should be a valid list').message, 'messages.1.content: Input should be a valid list');
  for (const status of [401, 403, 404, 429, 500, 529]) {
    const err = translate(status, 'x', 'invalid x-api-key sk-ant-api03-abcdefghijkl for org 5f2c8e1a at api.anthropic.com');
    assert.doesNotMatch(err.message, /sk-|x-api-key|anthropic|5f2c8e1a/i, `status ${status}: ${err.message}`);
  }
});

test('secrets are scrubbed from passed-through text', () => {
  const err = translate(400, 'invalid_request_error', 'bad key sk-ant-api03-AbC_dEf-123456789 and token Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZg== here');
  assert.equal(err.message, 'bad key [redacted] and token [redacted] here');
  assert.equal(scrubSecrets('see https://docs.claude.com/en/api/rate-limits now'), 'see [redacted] now');
  assert.equal(scrubSecrets('max_tokens: 1000000 > 64000, which is the maximum allowed'), 'max_tokens: 1000000 > 64000, which is the maximum allowed');
});

test('retry-after: seconds, HTTP date, retry-after-ms', () => {
  assert.equal(translate(429, 'rate_limit_error', 'x', { 'retry-after': '18' }).retryAfterSeconds, 18);
  assert.equal(translate(429, 'rate_limit_error', 'x', { 'retry-after-ms': '2500' }).retryAfterSeconds, 2.5);
  const date = new Date(Date.now() + 30_000).toUTCString();
  const fromDate = translate(429, 'rate_limit_error', 'x', { 'retry-after': date }).retryAfterSeconds;
  assert.ok(fromDate !== undefined && fromDate > 25 && fromDate <= 30, String(fromDate));
  assert.equal(translate(429, 'rate_limit_error', 'x', { 'retry-after': 'soon' }).retryAfterSeconds, undefined);
  assert.equal(translate(429, 'rate_limit_error', 'x').retryAfterSeconds, undefined);
  assert.equal(toOpenAIError(translate(529, 'overloaded_error', 'x', { 'retry-after': '3' })).headers['retry-after'], '3');
});

test('unreadable error bodies still map by status', () => {
  const html = anthropicDialect.parseError(413, () => undefined, bytesOf('<html>Request Entity Too Large</html>'));
  assert.equal(html.status, 413);
  assert.ok(html.message.length > 0);
  const empty = anthropicDialect.parseError(500, () => undefined, new Uint8Array());
  assert.equal(empty.status, 502);
  const weird = anthropicDialect.parseError(400, () => undefined, bytesOf('{"error":"nope"}'));
  assert.equal(weird.status, 400);
  assert.ok(weird.message.length > 0);
});
