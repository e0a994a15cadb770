/**
 * What moving a large body through the ext_proc gRPC stream costs the ext_proc process itself,
 * without any handler work: the real ExtProcServer (grpc-js, protobufjs codecs) with a processor
 * that answers each request_body with a body of the same size (as a translation would), a grpc-js
 * client in a child process sending one ProcessingRequest per stream. Reports the server
 * process's CPU (process.cpuUsage: its event loop and helper threads) per message, by body size.
 *
 * Run: `node --import tsx bench/extproc-transport.ts [messages-per-size]`.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { phaseResponse } from '../src/extproc/messages.ts';
import { ExtProcServer } from '../src/extproc/server.ts';
import { PROCESS_METHOD_PATH, ProcessingRequestType, ProcessingResponseType } from '../src/extproc/protos.ts';
import type { ExtProcRequest } from '../src/extproc/types.ts';

const SIZES = [64 * 1024, 1024 * 1024, 16 * 1024 * 1024 - 1024];
const MAX = 40 * 1024 * 1024;

async function client(port: number, count: number): Promise<void> {
  const Client = grpc.makeGenericClientConstructor({}, 'ExtProc');
  const c = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': MAX, 'grpc.max_send_message_length': MAX });
  const one = (body: Buffer): Promise<void> =>
    new Promise((resolve, reject) => {
      const call = c.makeBidiStreamRequest(
        PROCESS_METHOD_PATH,
        (v: object) => Buffer.from(ProcessingRequestType.encode(v).finish()),
        (b: Buffer) => ProcessingResponseType.decode(b),
      );
      call.on('data', () => call.end());
      call.on('error', reject);
      call.on('end', resolve);
      call.write({ request_body: { body, end_of_stream: true } });
    });
  for (const size of SIZES) {
    const body = Buffer.alloc(size, 0x61);
    await one(body); // warm-up
    process.send!({ start: size });
    await new Promise((r) => process.once('message', r));
    for (let i = 0; i < count; i++) await one(body);
    process.send!({ end: size });
    await new Promise((r) => process.once('message', r));
  }
  c.close();
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 20);
  const server = new ExtProcServer(
    () => ({
      handle: (msg: ExtProcRequest) => phaseResponse('request_body', { body: Buffer.alloc((msg.request_body?.body as Uint8Array | undefined)?.length ?? 0, 0x62) }),
      close: () => undefined,
    }),
    { listen: '127.0.0.1:0', maxMessageBytes: MAX },
  );
  const port = await server.start();
  const child = fork(fileURLToPath(import.meta.url), ['--client', String(port), String(count)], { execArgv: ['--import', 'tsx'] });
  let cpu0 = process.cpuUsage();
  child.on('message', (m: { start?: number; end?: number }) => {
    if (m.start !== undefined) cpu0 = process.cpuUsage();
    else if (m.end !== undefined) {
      const d = process.cpuUsage(cpu0);
      console.log(`${(m.end / 1024).toFixed(0).padStart(6)} KiB: ext_proc CPU ${((d.user + d.system) / 1000 / count).toFixed(2)} ms per message (body in and the same size out)`);
    }
    child.send('go');
  });
  await new Promise((r) => child.once('exit', r));
  await server.stop(100);
}

if (process.argv[2] === '--client') await client(Number(process.argv[3]), Number(process.argv[4]));
else await main();
