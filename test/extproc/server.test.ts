import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { PROCESS_METHOD_PATH, ProcessingRequestType, ProcessingResponseType } from '../../src/extproc/protos.ts';
import { ExtProcServer, type StreamProcessor } from '../../src/extproc/server.ts';
import { bodyBytes, readHeaders, type ExtProcRequest, type ExtProcResponse } from '../../src/extproc/types.ts';
import { NO_RESPONSE, phaseResponse } from '../../src/extproc/messages.ts';
import { bodyMessage, headersMessage } from '../support/unit/ext-proc.ts';

const MAX = 16 * 1024 * 1024;

type Handler = (msg: ExtProcRequest, index: number) => ExtProcResponse | Promise<ExtProcResponse>;

/** One stream's processor: records messages and close reasons, answers with `handler`. */
class Recorder implements StreamProcessor {
  readonly messages: ExtProcRequest[] = [];
  readonly closes: string[] = [];
  readonly closed: Promise<void>;
  private markClosed!: () => void;
  constructor(private readonly handler: Handler) {
    this.closed = new Promise((resolve) => (this.markClosed = resolve));
  }
  handle(msg: ExtProcRequest): ExtProcResponse | Promise<ExtProcResponse> {
    this.messages.push(msg);
    return this.handler(msg, this.messages.length - 1);
  }
  close(reason: 'done' | 'cancelled' | 'error'): void {
    this.closes.push(reason);
    this.markClosed();
  }
  /** What the server gave attach(): sends a message unasked. */
  push: ((res: ExtProcResponse) => void) | undefined;
  attach(push: (res: ExtProcResponse) => void): void {
    this.push = push;
  }
}

/** The next stream's handler and the processors and metadata the factory saw. */
let nextHandler: Handler = () => ({});
let factoryThrows = false;
const recorders: Recorder[] = [];
const metadataSeen: grpc.Metadata[] = [];
const streamErrors: unknown[] = [];

const server = new ExtProcServer(
  (md) => {
    metadataSeen.push(md);
    if (factoryThrows) throw new Error('no processor for this stream');
    const r = new Recorder(nextHandler);
    recorders.push(r);
    return r;
  },
  { listen: '127.0.0.1:0', maxMessageBytes: MAX, onStreamError: (err) => void streamErrors.push(err) },
);
let client: grpc.Client;

before(async () => {
  const port = await server.start();
  assert.ok(port > 0);
  assert.equal(server.port, port);
  client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': MAX,
    'grpc.max_send_message_length': 4 * MAX,
  });
});

after(async () => {
  client.close();
  await server.stop(2000);
});

interface Decoded {
  request_body?: { response?: { body_mutation?: { body?: Uint8Array } } };
  [k: string]: unknown;
}

/** Opens a Process stream with the same protobufjs codecs the server uses. */
function open(metadata = new grpc.Metadata()) {
  const call = client.makeBidiStreamRequest<ExtProcRequest, Decoded>(
    PROCESS_METHOD_PATH,
    (v) => Buffer.from(ProcessingRequestType.encode(v as object).finish()),
    (b) => ProcessingResponseType.toObject(ProcessingResponseType.decode(b), { defaults: false }) as Decoded,
    metadata,
    // A guard so that a stream the server never finishes fails the test instead of hanging it.
    { deadline: Date.now() + 3000 },
  );
  const responses: Decoded[] = [];
  call.on('data', (r: Decoded) => responses.push(r));
  const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  // The error also arrives as a status; listening keeps it from being unhandled.
  call.on('error', () => undefined);
  return { call, responses, status };
}

/** The server ended the stream itself with an error status (not our deadline, not a cancel). */
function assertServerError(st: grpc.StatusObject): void {
  assert.ok(
    st.code !== grpc.status.OK && st.code !== grpc.status.DEADLINE_EXCEEDED && st.code !== grpc.status.CANCELLED,
    `expected an error status from the server, got ${grpc.status[st.code]} (${st.details})`,
  );
}

const bodyOf = (r: Decoded): string => Buffer.from(r.request_body?.response?.body_mutation?.body ?? []).toString('utf8');
const reply = (text: string | Uint8Array): ExtProcResponse => phaseResponse('request_body', { body: text });
const later = <T>(ms: number, value: T): Promise<T> => new Promise((resolve) => setTimeout(() => resolve(value), ms));

describe('ExtProcServer over a real gRPC connection', () => {
  test('one response per message, in order, with sync and async handlers mixed; close("done") once on end', async () => {
    nextHandler = (msg, i) => {
      const text = `r${i}:${Buffer.from(bodyBytes(msg.request_body?.body)).toString('utf8')}`;
      // Early messages are slower, so answering in completion order would reorder them.
      return i % 2 === 0 ? later(40 - i * 5, reply(text)) : reply(text);
    };
    const md = new grpc.Metadata();
    md.set('x-llmx-filter', 'upstream');
    const { call, responses, status } = open(md);
    for (let i = 0; i < 6; i++) call.write(bodyMessage('request_body', `m${i}`, false));
    call.end();
    const st = await status;
    assert.equal(st.code, grpc.status.OK);
    assert.deepEqual(responses.map(bodyOf), ['r0:m0', 'r1:m1', 'r2:m2', 'r3:m3', 'r4:m4', 'r5:m5']);
    const r = recorders.at(-1)!;
    assert.deepEqual(r.closes, ['done']);
    assert.deepEqual(metadataSeen.at(-1)!.get('x-llmx-filter'), ['upstream']);
  });

  test('attach: a message sent unasked goes after the answers already queued; NO_RESPONSE sends nothing', async () => {
    nextHandler = (msg, i) => {
      const text = `r${i}:${Buffer.from(bodyBytes(msg.request_body?.body)).toString('utf8')}`;
      if (i === 0) return later(40, reply(text));
      return i === 1 ? NO_RESPONSE : reply(text);
    };
    const { call, responses, status } = open();
    call.write(bodyMessage('request_body', 'm0', false));
    for (let i = 0; i < 100 && recorders.at(-1)?.messages.length !== 1; i++) await later(5, undefined);
    const r = recorders.at(-1)!;
    assert.ok(r.push, 'the processor was attached before its first message');
    // m0's answer is still pending: the pushed message must not overtake it.
    r.push(reply('pushed'));
    call.write(bodyMessage('request_body', 'm1', false));
    call.write(bodyMessage('request_body', 'm2', true));
    call.end();
    assert.equal((await status).code, grpc.status.OK);
    assert.deepEqual(responses.map(bodyOf), ['r0:m0', 'pushed', 'r2:m2']);
  });

  test('messages arrive decoded with snake_case fields and raw_value headers', async () => {
    nextHandler = () => phaseResponse('request_headers');
    const { call, status, responses } = open();
    call.write(headersMessage('request_headers', { ':path': '/v1/chat/completions', 'x-bin': 'é' }, true));
    call.end();
    assert.equal((await status).code, grpc.status.OK);
    const msg = recorders.at(-1)!.messages[0]!;
    assert.equal(msg.request_headers?.end_of_stream, true);
    const headers = readHeaders(msg.request_headers);
    assert.equal(headers.get(':path'), '/v1/chat/completions');
    assert.equal(headers.get('x-bin'), Buffer.from('é', 'latin1').toString('latin1'));
    assert.equal(responses.length, 1);
    assert.ok('request_headers' in responses[0]!);
  });

  test('close("cancelled") once when the client cancels; a late async answer is not written', async () => {
    let release!: (r: ExtProcResponse) => void;
    nextHandler = () => new Promise<ExtProcResponse>((resolve) => (release = resolve));
    const n = recorders.length;
    const { call, status, responses } = open();
    call.write(bodyMessage('request_body', 'x', false));
    while (recorders[n]?.messages.length !== 1) await later(1, undefined);
    const r = recorders[n]!;
    call.cancel();
    assert.equal((await status).code, grpc.status.CANCELLED);
    await r.closed;
    release(reply('too late'));
    await later(20, undefined);
    assert.deepEqual(r.closes, ['cancelled']);
    assert.equal(responses.length, 0);
  });

  test('a 5 MiB body passes both ways', async () => {
    nextHandler = (msg) => reply(bodyBytes(msg.request_body?.body));
    const big = Buffer.alloc(5 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
    const { call, status, responses } = open();
    call.write(bodyMessage('request_body', big, true));
    call.end();
    assert.equal((await status).code, grpc.status.OK);
    assert.equal(responses.length, 1);
    const echoed = Buffer.from(responses[0]!.request_body!.response!.body_mutation!.body!);
    assert.equal(echoed.length, big.length);
    assert.ok(echoed.equals(big));
  });

  test('a message over maxMessageBytes: RESOURCE_EXHAUSTED and close once', async () => {
    nextHandler = () => reply('ok');
    const n = recorders.length;
    const { call, status } = open();
    call.write(bodyMessage('request_body', 'small', false));
    call.write(bodyMessage('request_body', Buffer.alloc(MAX + 1024), false));
    assert.equal((await status).code, grpc.status.RESOURCE_EXHAUSTED);
    const r = recorders[n]!;
    await r.closed;
    assert.equal(r.closes.length, 1);
  });

  test('a handler that throws ends the stream with an error and close("error") once', async () => {
    const errorsBefore = streamErrors.length;
    nextHandler = (_msg, i) => {
      if (i === 1) throw new Error('handler bug');
      return reply('ok');
    };
    const { call, status, responses } = open();
    call.write(bodyMessage('request_body', 'a', false));
    call.write(bodyMessage('request_body', 'b', false));
    assertServerError(await status);
    const r = recorders.at(-1)!;
    await r.closed;
    assert.deepEqual(r.closes, ['error']);
    assert.deepEqual(responses.map(bodyOf), ['ok']);
    assert.equal(streamErrors.length, errorsBefore + 1);
    assert.match(String(streamErrors.at(-1)), /handler bug/);
  });

  test('an async handler that rejects ends the stream with an error and close("error") once', async () => {
    nextHandler = () => Promise.reject(new Error('async bug'));
    const { call, status } = open();
    call.write(bodyMessage('request_body', 'a', false));
    assertServerError(await status);
    const r = recorders.at(-1)!;
    await r.closed;
    assert.deepEqual(r.closes, ['error']);
  });

  test('a factory that throws refuses the stream and reports the error', async () => {
    const errorsBefore = streamErrors.length;
    const recordersBefore = recorders.length;
    factoryThrows = true;
    try {
      const { call, status } = open();
      call.write(bodyMessage('request_body', 'a', false));
      assertServerError(await status);
    } finally {
      factoryThrows = false;
    }
    assert.equal(recorders.length, recordersBefore);
    assert.equal(streamErrors.length, errorsBefore + 1);
  });

  test('streams are independent: each gets its own processor', async () => {
    nextHandler = (_msg, i) => reply(String(i));
    const a = open();
    const b = open();
    a.call.write(bodyMessage('request_body', 'x', false));
    b.call.write(bodyMessage('request_body', 'y', false));
    a.call.write(bodyMessage('request_body', 'x', false));
    a.call.end();
    b.call.end();
    await Promise.all([a.status, b.status]);
    assert.deepEqual(a.responses.map(bodyOf), ['0', '1']);
    assert.deepEqual(b.responses.map(bodyOf), ['0']);
  });
});
