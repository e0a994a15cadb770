import assert from 'node:assert/strict';
import { test } from 'node:test';
import { immediateResponse, phaseResponse, toStruct, toStructValue } from '../../src/extproc/messages.ts';
import { ProcessingResponseType } from '../../src/extproc/protos.ts';

test('phaseResponse: header sets overwrite (append_action 2), removes listed, route cache cleared', () => {
  const res = phaseResponse('request_body', { headers: { set: { a: '1', 'x-b': 'é' }, remove: ['c'] }, clearRouteCache: true });
  assert.deepEqual(res, {
    request_body: {
      response: {
        header_mutation: {
          set_headers: [
            { header: { key: 'a', raw_value: Buffer.from('1') }, append_action: 2 },
            { header: { key: 'x-b', raw_value: Buffer.from('é') }, append_action: 2 },
          ],
          remove_headers: ['c'],
        },
        clear_route_cache: true,
      },
    },
  });
});

test('phaseResponse: no changes → an empty CommonResponse; empty body → clear_body', () => {
  assert.deepEqual(phaseResponse('response_headers'), { response_headers: { response: {} } });
  assert.deepEqual(phaseResponse('response_headers', { headers: { set: {}, remove: [] } }), { response_headers: { response: {} } });
  assert.deepEqual(phaseResponse('response_body', { body: '' }), { response_body: { response: { body_mutation: { clear_body: true } } } });
  assert.deepEqual(phaseResponse('response_body', { body: new Uint8Array([1, 2]) }), { response_body: { response: { body_mutation: { body: new Uint8Array([1, 2]) } } } });
});

test('immediateResponse: status, headers, body bytes and details', () => {
  const res = immediateResponse(429, { 'retry-after': '2' }, '{"error":{}}', 'why');
  assert.deepEqual(res, {
    immediate_response: {
      status: { code: 429 },
      headers: { set_headers: [{ header: { key: 'retry-after', raw_value: Buffer.from('2') }, append_action: 2 }], remove_headers: [] },
      body: Buffer.from('{"error":{}}'),
      details: 'why',
    },
  });
});

test('the builders encode with the real protos and decode back to the same fields', () => {
  const res = phaseResponse('response_headers', { headers: { set: { ':status': '502' }, remove: ['server'] }, body: 'x' });
  res['mode_override'] = { response_body_mode: 1 };
  const back = ProcessingResponseType.toObject(ProcessingResponseType.decode(ProcessingResponseType.encode(res).finish())) as Record<string, unknown>;
  const common = (back['response_headers'] as { response: Record<string, unknown> }).response;
  const hm = common['header_mutation'] as { set_headers: Array<{ header: { key: string; raw_value: Uint8Array }; append_action: string | number }>; remove_headers: string[] };
  assert.equal(hm.set_headers[0]!.header.key, ':status');
  assert.equal(Buffer.from(hm.set_headers[0]!.header.raw_value).toString(), '502');
  assert.deepEqual(hm.remove_headers, ['server']);
  assert.equal(Buffer.from((common['body_mutation'] as { body: Uint8Array }).body).toString(), 'x');
  assert.equal((back['mode_override'] as { response_body_mode: number }).response_body_mode, 1);

  const imm = immediateResponse(401, { 'content-type': 'application/json' }, '{}', 'd');
  const ib = ProcessingResponseType.toObject(ProcessingResponseType.decode(ProcessingResponseType.encode(imm).finish())) as Record<string, unknown>;
  const ir = ib['immediate_response'] as { status: { code: number }; details: string; body: Uint8Array };
  assert.equal(ir.status.code, 401);
  assert.equal(ir.details, 'd');
  assert.equal(Buffer.from(ir.body).toString(), '{}');
});

test('toStruct / toStructValue', () => {
  assert.deepEqual(toStruct({ a: 'x', b: 2, c: true, d: null, e: [1, 'y'], f: { g: undefined } }), {
    fields: {
      a: { stringValue: 'x' },
      b: { numberValue: 2 },
      c: { boolValue: true },
      d: { nullValue: 0 },
      e: { listValue: { values: [{ numberValue: 1 }, { stringValue: 'y' }] } },
      f: { structValue: { fields: { g: { nullValue: 0 } } } },
    },
  });
  assert.deepEqual(toStructValue(undefined), { nullValue: 0 });
});
