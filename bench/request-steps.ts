/**
 * What one large request body costs the ext_proc's event loop, step by step, in-process (no
 * Envoy): protobuf decode of the ext_proc message, the limits scan, JSON.parse, the duplicate-key
 * check, zod validation, translation per dialect, JSON.stringify alone, protobuf encode of the
 * answer. Median of N runs after a warm-up, ms of one thread's time (performance.now around each
 * step, nothing else running in the process).
 *
 * Run: `node --import tsx bench/request-steps.ts [runs]` (the bench's head-of-line part).
 */
import { performance } from 'node:perf_hooks';
import { dialects } from '../src/dialects/registry.ts';
import { assertUniqueKeys } from '../src/exchange/duplicate-keys.ts';
import { assertJsonDepth } from '../src/exchange/json-depth.ts';
import { checkRequestLimits, DEFAULT_REQUEST_LIMITS } from '../src/exchange/request-limits.ts';
import { phaseResponse } from '../src/extproc/messages.ts';
import { ProcessingRequestType, ProcessingResponseType } from '../src/extproc/protos.ts';
import { chatRequestSchema, type ChatRequest } from '../src/openai/chat-request.ts';
import { largeBodies } from './large-bodies.ts';

const runs = Number(process.argv[2] ?? 15);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function time<T>(into: Map<string, number[]>, step: string, fn: () => T): T {
  const t0 = performance.now();
  const out = fn();
  const ms = performance.now() - t0;
  (into.get(step) ?? into.set(step, []).get(step)!).push(ms);
  return out;
}

const target = { providerModel: 'model-x', defaultMaxTokens: 4096 };

for (const shape of largeBodies()) {
  const bytes = Buffer.from(shape.body);
  const wire = ProcessingRequestType.encode({ request_body: { body: bytes, end_of_stream: true } }).finish();
  const steps = new Map<string, number[]>();
  for (let r = 0; r < runs + 3; r++) {
    const m = r < 3 ? new Map<string, number[]>() : steps;
    const msg = time(m, 'protobuf decode', () => ProcessingRequestType.decode(wire)) as unknown as { request_body: { body: Uint8Array } };
    const body = msg.request_body.body;
    const shapeOf = time(m, 'limits scan (+ depth)', () => {
      const s = checkRequestLimits(body, DEFAULT_REQUEST_LIMITS);
      assertJsonDepth(body, s.depth);
      return s;
    });
    const text = time(m, 'utf-8 decode', () => Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
    const json = time(m, 'JSON.parse', () => JSON.parse(text) as unknown);
    time(m, 'duplicate-key check', () => assertUniqueKeys(json, text, shapeOf.members));
    const req = time(m, 'zod validation', () => chatRequestSchema.parse(json)) as ChatRequest;
    for (const d of Object.values(dialects)) {
      const out = time(m, `translate: ${d.id} (buildRequest)`, () => d.buildRequest(req, target));
      if (d.id === 'anthropic') {
        time(m, 'protobuf encode (anthropic body)', () => ProcessingResponseType.encode(phaseResponse('request_body', { body: out.body }) as object).finish());
      }
    }
    time(m, 'JSON.stringify (validated request)', () => JSON.stringify(req));
  }
  const total = [...steps.entries()].filter(([k]) => !k.startsWith('JSON.stringify') && !/translate: (openai|gemini)/.test(k));
  console.log(`\n${shape.label}: ${(bytes.length / 1e6).toFixed(2)} MB, ${checkRequestLimits(bytes).values} JSON values (median of ${runs}, ms)`);
  for (const [k, v] of steps) console.log(`  ${k.padEnd(38)} ${median(v).toFixed(2).padStart(8)}`);
  console.log(`  ${'sum for an anthropic request'.padEnd(38)} ${total.reduce((a, [, v]) => a + median(v), 0).toFixed(2).padStart(8)}`);
}
