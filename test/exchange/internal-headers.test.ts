import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProcessingRequestType } from '../../src/extproc/protos.ts';
import { PROVIDER_AUTH_HEADERS, RESPONSE_HEADER_ALLOWLIST, isEnvoyReply, isInternalHeader, responseCodeDetails, type ExtProcAttributes } from '../../src/exchange/internal-headers.ts';

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

test('responseCodeDetails reads response.code_details from the ext_proc attributes as the codec decodes them', () => {
  const wire = ProcessingRequestType.encode(
    ProcessingRequestType.fromObject({ response_headers: {}, attributes: { 'envoy.filters.http.ext_proc': { fields: { 'response.code_details': { stringValue: 'via_upstream' } } } } }),
  ).finish();
  const decoded = ProcessingRequestType.decode(wire) as unknown as { attributes: ExtProcAttributes };
  assert.equal(responseCodeDetails(decoded.attributes), 'via_upstream');
  assert.equal(responseCodeDetails(undefined), undefined);
  assert.equal(responseCodeDetails({}), undefined);
  assert.equal(responseCodeDetails({ 'envoy.filters.http.ext_proc': { fields: { 'response.code_details': { stringValue: '' } } } }), undefined);
});

test("isEnvoyReply: anything but via_upstream is Envoy's own; without the attribute, the legacy marker decides", () => {
  const none = (): boolean => false;
  const marked = (n: string): boolean => n === 'x-llmx-local-reply';
  assert.equal(isEnvoyReply('via_upstream', marked), false, 'the attribute wins over a header a provider could send');
  assert.equal(isEnvoyReply('upstream_reset_before_response_started{remote_reset}', none), true);
  assert.equal(isEnvoyReply('response_timeout', none), true);
  assert.equal(isEnvoyReply(undefined, marked), true);
  assert.equal(isEnvoyReply(undefined, none), false);
});
