import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { encodeProcessingResponse } from '../../src/extproc/encode-response.ts';
import { immediateResponse, phaseResponse, streamedBodyResponse } from '../../src/extproc/messages.ts';
import { ProcessingResponseType } from '../../src/extproc/protos.ts';
import { BodySendMode, type ExtProcResponse } from '../../src/extproc/types.ts';

const viaProtobufjs = (res: ExtProcResponse): Buffer => Buffer.from(ProcessingResponseType.encode(res).finish());

function assertSameBytes(res: ExtProcResponse): void {
  const ours = encodeProcessingResponse(res);
  assert.deepEqual(ours, viaProtobufjs(res));
  // And Envoy's reading of it (protobufjs' decoder standing in) is the message we meant.
  assert.deepEqual(ProcessingResponseType.toObject(ProcessingResponseType.decode(ours)), ProcessingResponseType.toObject(ProcessingResponseType.decode(viaProtobufjs(res))));
}

test('the gateway’s own answers encode to the same bytes as protobufjs', () => {
  const cases: ExtProcResponse[] = [
    phaseResponse('request_headers'),
    phaseResponse('response_body'),
    { request_headers: {} },
    phaseResponse('request_body', {
      headers: {
        set: { authorization: 'Bearer sk-provider', ':path': '/v1/chat/completions', 'x-envoy-max-retries': '1', 'x-llmx-try-1': 'openai-primary', 'content-length': '312' },
        remove: ['x-api-key', 'anthropic-version'],
      },
      body: '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"héllo ✓"}]}',
      clearRouteCache: true,
    }),
    phaseResponse('response_headers', { headers: { set: { 'x-ratelimit-remaining-requests': '59', 'x-request-id': 'r-1' } } }),
    phaseResponse('response_body', { body: '' }), // clear_body
    phaseResponse('response_body', { body: new Uint8Array([0, 1, 2, 255]) }),
    streamedBodyResponse('data: {"x":1}\n\n', false),
    streamedBodyResponse('', true),
    { ...phaseResponse('response_headers'), mode_override: { response_body_mode: BodySendMode.BUFFERED } },
    { mode_override: { response_body_mode: BodySendMode.FULL_DUPLEX_STREAMED, request_body_mode: 0 }, ...phaseResponse('response_headers') },
    { request_headers: { response: { status: 1, header_mutation: { set_headers: [{ header: { key: 'k', value: 'v' }, append_action: 0, keep_empty_value: true }], remove_headers: [] } } } },
    // Not fast-path shapes: protobufjs encodes them.
    immediateResponse(429, { 'content-type': 'application/json', 'retry-after': '3' }, '{"error":{"message":"slow down"}}', 'rate_limited'),
    { request_headers: { response: {} }, override_message_timeout: { seconds: 3 } },
    { response_headers: { response: { header_mutation: { set_headers: [{ header: { key: 'a', raw_value: Buffer.from('b') }, append: { value: true } }] } } } },
  ];
  for (const res of cases) assertSameBytes(res);
});

test('any header set, body and mode encode to the same bytes as protobufjs (property)', () => {
  const header = fc.record({ key: fc.string({ minLength: 1, maxLength: 40 }), value: fc.string({ maxLength: 300 }) });
  fc.assert(
    fc.property(
      fc.constantFrom('request_headers', 'response_headers', 'request_body', 'response_body' as const),
      fc.array(header, { maxLength: 30 }),
      fc.array(fc.string({ maxLength: 30 }), { maxLength: 5 }),
      fc.option(fc.oneof(fc.string({ maxLength: 2000 }), fc.uint8Array({ maxLength: 70_000 })), { nil: undefined }),
      fc.boolean(),
      fc.option(fc.constantFrom(0, 1, 2, 4), { nil: undefined }),
      (phase, headers, remove, body, clearRouteCache, mode) => {
        const set = Object.fromEntries(headers.map((h) => [h.key, h.value]));
        const res = phaseResponse(phase, { headers: { set, remove }, ...(body !== undefined ? { body } : {}), clearRouteCache });
        if (mode !== undefined) res.mode_override = { response_body_mode: mode };
        assertSameBytes(res);
      },
    ),
    { numRuns: 300 },
  );
});

test('a shape it does not know is left to protobufjs, not dropped', () => {
  const res = { response_headers: { response: { trailers: { headers: [{ key: 'grpc-status', raw_value: Buffer.from('0') }] } } } };
  assertSameBytes(res);
  const back = ProcessingResponseType.toObject(ProcessingResponseType.decode(encodeProcessingResponse(res))) as { response_headers: { response: { trailers: { headers: unknown[] } } } };
  assert.equal(back.response_headers.response.trailers.headers.length, 1);
});
