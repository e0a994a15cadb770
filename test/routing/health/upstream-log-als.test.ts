import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { AccessLogService, UPSTREAM_ATTEMPTS_LOG_NAME, type EnvoyReply } from '../../../src/extproc/access-log-service.ts';
import { loadEnvoyProtos } from '../../../src/extproc/protos.ts';
import { ExtProcServer } from '../../../src/extproc/server.ts';
import type { UpstreamAttemptEntry } from '../../../src/routing/health/attempt-log.ts';

/**
 * The ALS tells the router's upstream_log (failed attempts → target health) from the HCM's
 * access log (Envoy's replies → the request log) by the stream's log_name, which only the
 * first message of a stream carries.
 */

const root = loadEnvoyProtos('envoy/service/accesslog/v3/als.proto');
const Message = root.lookupType('envoy.service.accesslog.v3.StreamAccessLogsMessage');
const PATH = '/envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs';

/** An upstream entry as Envoy 1.40 writes it for a failed attempt (h5 findings §1). */
function upstreamEntry(over: { status?: number; flags?: Record<string, boolean>; attempt?: string; headers?: Record<string, string>; type?: number }): Record<string, unknown> {
  return {
    common_properties: {
      upstream_cluster: 'openai-primary',
      response_flags: over.flags ?? {},
      start_time: { seconds: 1_780_000_000, nanos: 250_000_000 },
      duration: { seconds: 1, nanos: 500_000 },
      ...(over.type !== undefined ? { access_log_type: over.type } : {}),
    },
    request: { request_method: 3, path: '/v1/chat/completions', request_headers: { 'x-request-id': 'req-1', ...(over.attempt ? { 'x-envoy-attempt-count': over.attempt } : {}) } },
    response: { ...(over.status !== undefined ? { response_code: { value: over.status } } : {}), response_headers: over.headers ?? {} },
  };
}

const encode = (logName: string | undefined, entries: Array<Record<string, unknown>>): Buffer =>
  Buffer.from(Message.encode(Message.fromObject({ ...(logName ? { identifier: { log_name: logName } } : {}), http_logs: { log_entry: entries } })).finish());

const replies: EnvoyReply[] = [];
const attempts: UpstreamAttemptEntry[] = [];
const als = new AccessLogService({ onReply: (r) => void replies.push(r), onAttempt: (a) => void attempts.push(a) });
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

function open(): { write(b: Buffer): void; end(): void } {
  const call = client.makeClientStreamRequest(PATH, (b: Buffer) => b, (b: Buffer) => b, () => {});
  return { write: (b) => call.write(b), end: () => call.end() };
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), 'condition not met in 2 s');
}

test("upstream_log entries go to onAttempt, by the stream's log_name, later messages included", async () => {
  const s = open();
  s.write(encode(UPSTREAM_ATTEMPTS_LOG_NAME, [upstreamEntry({ status: 429, attempt: '1', headers: { 'retry-after': '2', 'x-ratelimit-reset-tokens': '6m0s' } })]));
  // Later messages of the stream carry no identifier.
  s.write(encode(undefined, [upstreamEntry({ flags: { upstream_request_timeout: true }, attempt: '2' })]));
  await until(() => attempts.length === 2);
  s.end();
  assert.equal(replies.length, 0, 'none reached the request log');
  assert.deepEqual(attempts[0], {
    requestId: 'req-1',
    attemptNumber: 1,
    cluster: 'openai-primary',
    status: 429,
    flags: [],
    startMs: 1_780_000_000_250,
    durationMs: 1000.5,
    headers: { 'retry-after': '2', 'x-ratelimit-reset-tokens': '6m0s' },
  });
  assert.deepEqual([attempts[1]!.status, attempts[1]!.flags, attempts[1]!.attemptNumber], [0, ['UT'], 2]);
});

test('HCM entries keep going to onReply; an upstream entry on another stream is known by its access_log_type', async () => {
  attempts.length = 0;
  replies.length = 0;
  const s = open();
  s.write(encode('llm_envoy_replies', [upstreamEntry({ status: 503, flags: { upstream_remote_reset: true } })]));
  // access_log_type UpstreamEnd (9): an upstream entry whatever its stream says.
  s.write(encode(undefined, [upstreamEntry({ status: 500, attempt: 'x', type: 9 })]));
  await until(() => replies.length === 1 && attempts.length === 1);
  s.end();
  assert.equal(replies[0]!.status, 503);
  assert.equal(attempts[0]!.status, 500);
  assert.equal(attempts[0]!.attemptNumber, undefined, 'not a number: unknown');
});
