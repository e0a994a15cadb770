import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PROVIDER_AUTH_HEADERS, RESPONSE_HEADER_ALLOWLIST, isInternalHeader } from '../../src/exchange/internal-headers.ts';

test('isInternalHeader: x-llmx-* and x-envoy-* only (names arrive lower-cased)', () => {
  for (const name of ['x-llmx-try-1', 'x-llmx-local-reply', 'x-envoy-max-retries', 'x-envoy-attempt-count']) assert.ok(isInternalHeader(name), name);
  for (const name of ['x-request-id', 'authorization', 'x-llm', 'x-envoyx', 'content-type']) assert.ok(!isInternalHeader(name), name);
});

test('every provider auth header kind is on the removal list', () => {
  for (const name of ['authorization', 'x-api-key', 'x-goog-api-key']) assert.ok(PROVIDER_AUTH_HEADERS.includes(name));
});

test('the response allowlist keeps only caller-safe headers', () => {
  // retry-after is decided by the error mapping, not passed from the provider as it is.
  assert.deepEqual([...RESPONSE_HEADER_ALLOWLIST].sort(), [':status', 'cache-control', 'content-type', 'date']);
});
