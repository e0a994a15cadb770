import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AuthError, InternalError, RateLimitError, UpstreamError } from '../../src/errors/gateway-error.ts';
import { toOpenAIError, toOpenAIErrorEvent } from '../../src/errors/to-openai.ts';

test('the four keys are always present; null when not set', () => {
  const { status, body, headers } = toOpenAIError(new AuthError('nope'));
  assert.equal(status, 401);
  assert.deepEqual(body, { error: { message: 'nope', type: 'invalid_request_error', param: null, code: null } });
  assert.deepEqual(headers, { 'content-type': 'application/json' });
});

test('param and code are carried', () => {
  const { body } = toOpenAIError(new UpstreamError(400, 'invalid_request_error', 'bad', { param: 'messages', code: 'x' }));
  assert.deepEqual(body.error, { message: 'bad', type: 'invalid_request_error', param: 'messages', code: 'x' });
});

test('retry-after: whole seconds, at least 1, only when known', () => {
  const ra = (s: number | undefined) => toOpenAIError(new RateLimitError('slow down', s === undefined ? {} : { retryAfterSeconds: s })).headers['retry-after'];
  assert.equal(ra(undefined), undefined);
  assert.equal(ra(0), '1');
  assert.equal(ra(2.2), '3');
  assert.equal(ra(30), '30');
});

test('the cause is never sent', () => {
  const out = JSON.stringify(toOpenAIError(new InternalError('failed', { cause: new Error('db password hunter2') })));
  assert.doesNotMatch(out, /hunter2/);
});

test('error event: one data line with the same body', () => {
  const err = new UpstreamError(502, 'api_error', 'ended early', { code: 'upstream_stream_truncated' });
  assert.equal(toOpenAIErrorEvent(err), `data: ${JSON.stringify(toOpenAIError(err).body)}\n\n`);
});
