import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { AccessLogService, toEnvoyReply, type EnvoyReply } from '../../src/extproc/access-log-service.ts';
import { loadEnvoyProtos } from '../../src/extproc/protos.ts';
import { ExtProcServer } from '../../src/extproc/server.ts';

const root = loadEnvoyProtos('envoy/service/accesslog/v3/als.proto');
const Message = root.lookupType('envoy.service.accesslog.v3.StreamAccessLogsMessage');
const PATH = '/envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs';

/** One HTTPAccessLogEntry as Envoy writes it (snake_case, as protobufjs encodes with keepCase). */
function entry(over: { status?: number; flags?: Record<string, boolean>; details?: string; reqId?: string; resId?: string }): Record<string, unknown> {
  return {
    common_properties: { response_flags: over.flags ?? {} },
    request: { request_method: 3, path: '/v1/chat/completions', request_headers: over.reqId ? { 'x-request-id': over.reqId } : {} },
    response: {
      ...(over.status !== undefined ? { response_code: { value: over.status } } : {}),
      response_code_details: over.details ?? '',
      response_headers: over.resId ? { 'x-request-id': over.resId } : {},
    },
  };
}

const encode = (entries: Array<Record<string, unknown>>): Buffer =>
  Buffer.from(Message.encode(Message.fromObject({ identifier: { log_name: 'llm_envoy_replies' }, http_logs: { log_entry: entries } })).finish());

const replies: EnvoyReply[] = [];
const errors: unknown[] = [];
let throwOn: string | undefined;
const als = new AccessLogService({
  onReply: (r) => {
    if (throwOn !== undefined && r.requestRequestId === throwOn) throw new Error('consumer failed');
    replies.push(r);
  },
  onError: (err) => void errors.push(err),
});
const server = new ExtProcServer(() => assert.fail('no ext_proc stream in this test'), { listen: '127.0.0.1:0', maxMessageBytes: 1 << 20, services: [als] });
let client: grpc.Client;

before(async () => {
  const port = await server.start();
  client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});
after(async () => {
  client.close();
  await server.stop(1000);
});

/** A client stream like Envoy's: raw message bytes in, the call's end (OK or an error) out. */
function open(): { write(b: Buffer): void; finished: Promise<grpc.ServiceError | null> } {
  let call!: grpc.ClientWritableStream<Buffer>;
  const finished = new Promise<grpc.ServiceError | null>((resolve) => {
    call = client.makeClientStreamRequest(PATH, (b: Buffer) => b, (b: Buffer) => b, (err) => resolve(err));
  });
  return { write: (b) => call.write(b), finished: finished.finally(() => undefined) };
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), 'condition not met in 2 s');
}

test('entries arrive as typed records: ids, status, flags by short name, details, method, path', async () => {
  const s = open();
  s.write(
    encode([
      entry({ status: 503, flags: { upstream_remote_reset: true, upstream_retry_limit_exceeded: true }, details: 'upstream_reset_after_response_started{remote_reset}', reqId: 'a', resId: 'a' }),
      entry({ status: 431, flags: { downstream_protocol_error: true }, details: 'http1.headers_too_large', resId: 'mapper' }),
    ]),
  );
  await until(() => replies.length === 2);
  assert.deepEqual(replies[0], {
    responseRequestId: 'a',
    requestRequestId: 'a',
    status: 503,
    flags: ['UR', 'URX'],
    codeDetails: 'upstream_reset_after_response_started{remote_reset}',
    method: 'POST',
    path: '/v1/chat/completions',
  });
  assert.deepEqual([replies[1]!.responseRequestId, replies[1]!.requestRequestId, replies[1]!.status, replies[1]!.flags], ['mapper', undefined, 431, ['DPE']]);
});

test('a malformed message or a failing consumer never ends the stream', async () => {
  replies.length = 0;
  errors.length = 0;
  const s = open();
  s.write(Buffer.from([0x0a, 0xff, 0xff, 0xff])); // a length past the end: undecodable
  throwOn = 'boom';
  s.write(encode([entry({ status: 500, reqId: 'boom' }), entry({ status: 504, reqId: 'after' })]));
  await until(() => replies.length === 1);
  assert.equal(replies[0]!.requestRequestId, 'after', 'the entry after the failing one still arrives');
  assert.equal(errors.length, 2, 'both failures reported');
  throwOn = undefined;
  s.write(encode([entry({ status: 426, reqId: 'later' })]));
  await until(() => replies.length === 2);
});

test('an entry with nothing set decodes to empty fields, not a throw', () => {
  assert.deepEqual(toEnvoyReply({}), { responseRequestId: undefined, requestRequestId: undefined, status: 0, flags: [], codeDetails: '', method: '', path: '' });
  assert.deepEqual(toEnvoyReply(null).flags, []);
});

test('stopping the server ends open streams with OK at once', async () => {
  const s = open();
  s.write(encode([entry({ status: 503, reqId: 'x' })]));
  await until(() => replies.some((r) => r.requestRequestId === 'x'));
  als.endStreams();
  assert.equal(await s.finished, null);
});
