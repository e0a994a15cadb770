import { test } from 'node:test';
import assert from 'node:assert/strict';
import { geminiDialect } from '../../../src/dialects/gemini/index.ts';
import { scrubSecrets } from '../../../src/lib/scrub.ts';
import { toOpenAIError } from '../../../src/errors/to-openai.ts';

// Gemini error responses → what the caller sees (README 5.8 and the brief's policy).

const KEY = 'AIzaSyD-1234567890abcdefghijklmnopqrstu';

function mapped(status: number, error: unknown, headers: Record<string, string> = {}) {
  const body = new TextEncoder().encode(typeof error === 'string' ? error : JSON.stringify({ error }));
  const err = geminiDialect.parseError(status, (h) => headers[h], body);
  return { err, wire: toOpenAIError(err) };
}

test('status mapping', () => {
  const cases: Array<[number, string, number, string]> = [
    [400, 'INVALID_ARGUMENT', 400, 'invalid_request_error'],
    [400, 'FAILED_PRECONDITION', 400, 'invalid_request_error'],
    [401, 'UNAUTHENTICATED', 502, 'api_error'],
    [403, 'PERMISSION_DENIED', 502, 'api_error'],
    [404, 'NOT_FOUND', 502, 'api_error'],
    [429, 'RESOURCE_EXHAUSTED', 429, 'rate_limit_error'],
    [499, 'CANCELLED', 502, 'api_error'],
    [500, 'INTERNAL', 502, 'api_error'],
    [503, 'UNAVAILABLE', 503, 'service_unavailable_error'],
    [504, 'DEADLINE_EXCEEDED', 504, 'timeout_error'],
  ];
  for (const [status, grpc, want, type] of cases) {
    const { wire } = mapped(status, { code: status, message: `m ${grpc}`, status: grpc });
    assert.equal(wire.status, want, `${status} ${grpc}`);
    assert.equal(wire.body.error.type, type, `${status} ${grpc}`);
    assert.deepEqual(Object.keys(wire.body.error).sort(), ['code', 'message', 'param', 'type']);
  }
});

test('credential and routing failures hide provider details', () => {
  const invalidKey = mapped(400, {
    code: 400,
    message: `API key not valid. Please pass a valid API key. (${KEY})`,
    status: 'INVALID_ARGUMENT',
    details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com' }],
  });
  assert.equal(invalidKey.wire.status, 502);
  const notFound = mapped(404, { code: 404, message: 'models/gemini-x is not found for API version v1beta', status: 'NOT_FOUND' });
  for (const { wire } of [invalidKey, notFound, mapped(403, { code: 403, message: 'Gemini API has not been used in project 123', status: 'PERMISSION_DENIED' })]) {
    assert.doesNotMatch(wire.body.error.message, /gemini|google|key|AIza|models\//i);
  }
});

test('retry-after: header first, else RetryInfo.retryDelay, fractional seconds rounded up on the wire', () => {
  const retryInfo = (delay: string) => ({
    code: 429,
    message: 'Resource has been exhausted',
    status: 'RESOURCE_EXHAUSTED',
    details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: delay }],
  });
  assert.equal(mapped(429, retryInfo('17s')).err.retryAfterSeconds, 17);
  assert.equal(mapped(429, retryInfo('1.5s')).wire.headers['retry-after'], '2');
  assert.equal(mapped(429, retryInfo('17s'), { 'retry-after': '3' }).err.retryAfterSeconds, 3);
  assert.equal(mapped(503, { code: 503, message: 'overloaded', status: 'UNAVAILABLE' }, { 'retry-after': '5' }).wire.headers['retry-after'], '5');
  assert.equal(mapped(429, { code: 429, message: 'x', status: 'RESOURCE_EXHAUSTED' }).err.retryAfterSeconds, undefined);
});

test('API keys are scrubbed from messages that are passed through', () => {
  const { wire } = mapped(400, { code: 400, message: `bad request for key ${KEY} at https://x/y?key=${KEY}&alt=sse`, status: 'INVALID_ARGUMENT' });
  assert.doesNotMatch(wire.body.error.message, /AIza/);
  assert.equal(scrubSecrets('?key=abc&x=1'), '?key=[redacted]&x=1');
});

test('Google host names, URLs and project ids never reach the caller; the useful part of the text does', () => {
  const { wire } = mapped(400, {
    code: 400,
    message:
      "Invalid JSON payload received. Unknown name \"foo\" at 'generation_config': Cannot find field. Quota project projects/812345678901 via generativelanguage.googleapis.com, see https://ai.google.dev/gemini-api/docs/troubleshooting",
    status: 'INVALID_ARGUMENT',
  });
  assert.match(wire.body.error.message, /Unknown name "foo" at 'generation_config': Cannot find field\./);
  assert.doesNotMatch(wire.body.error.message, /googleapis|ai\.google|812345678901|https?:/);
});

test('429 and 503 use the gateway\'s words (Gemini quota text names the project)', () => {
  for (const status of [429, 503, 500]) {
    const { wire } = mapped(status, { code: status, message: "Quota exceeded for quota metric 'x' of service 'generativelanguage.googleapis.com' for consumer 'project_number:812345678901'.", status: 'X' });
    assert.doesNotMatch(wire.body.error.message, /googleapis|812345678901|consumer/, String(status));
  }
});

test('non-JSON and empty bodies still map by status with a non-empty message', () => {
  for (const [status, want] of [[502, 502], [400, 400], [429, 429], [418, 400]] as const) {
    const { wire } = mapped(status, '<html>Bad Gateway</html>');
    assert.equal(wire.status, want);
    assert.ok(wire.body.error.message.length > 0);
  }
});
