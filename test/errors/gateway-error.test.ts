import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AuthError,
  GatewayError,
  InternalError,
  InvalidRequestError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  PermissionError,
  RateLimitError,
  UnsupportedMediaTypeError,
  UpstreamError,
  asGatewayError,
} from '../../src/errors/gateway-error.ts';

test('status and OpenAI type per class', () => {
  const cases: Array<[GatewayError, number, string]> = [
    [new InvalidRequestError('m'), 400, 'invalid_request_error'],
    [new PayloadTooLargeError('m'), 413, 'invalid_request_error'],
    [new UnsupportedMediaTypeError('m'), 415, 'invalid_request_error'],
    [new AuthError('m'), 401, 'invalid_request_error'],
    [new PermissionError('m'), 403, 'permission_error'],
    [new NotFoundError('m'), 404, 'invalid_request_error'],
    [new MethodNotAllowedError('m'), 405, 'invalid_request_error'],
    [new RateLimitError('m'), 429, 'rate_limit_error'],
    [new UpstreamError(503, 'service_unavailable_error', 'm'), 503, 'service_unavailable_error'],
    [new InternalError('m'), 500, 'server_error'],
  ];
  for (const [err, status, type] of cases) {
    assert.equal(err.status, status, err.name);
    assert.equal(err.openaiType, type, err.name);
    assert.equal(err.name, err.constructor.name);
    assert.deepEqual([err.param, err.code, err.retryAfterSeconds], [null, null, undefined]);
  }
});

test('asGatewayError keeps gateway errors and wraps anything else without its message', () => {
  const known = new RateLimitError('x');
  assert.equal(asGatewayError(known), known);
  const cause = new TypeError('secret detail');
  const wrapped = asGatewayError(cause);
  assert.ok(wrapped instanceof InternalError);
  assert.equal(wrapped.code, 'internal_error');
  assert.equal(wrapped.cause, cause);
  assert.doesNotMatch(wrapped.message, /secret detail/);
  assert.ok(asGatewayError('a string') instanceof InternalError);
});
