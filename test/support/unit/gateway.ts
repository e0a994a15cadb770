import assert from 'node:assert/strict';
import { ConfigStore } from '../../../src/config/store.ts';
import { ExchangeRegistry } from '../../../src/exchange/registry.ts';
import { RouterProcessor } from '../../../src/exchange/router-processor.ts';
import { UpstreamProcessor } from '../../../src/exchange/upstream-processor.ts';
import type { ExtProcResponse } from '../../../src/extproc/types.ts';
import type { Answers } from '../../../src/extproc/server.ts';
import { DEMO_CONFIG, DEMO_ENV, DEMO_KEY } from './config.ts';
import { bodyMessage, headersMessage, phaseMutation, type Mutation } from './ext-proc.ts';
import { memorySinks, type MemorySinks } from './sinks.ts';

/** A router/upstream pair sharing one registry and one in-memory log, on the demo config. */
export interface Harness extends MemorySinks {
  configs: ConfigStore;
  registry: ExchangeRegistry;
  router(): RouterProcessor;
  upstream(cluster: string): UpstreamProcessor;
  close(): void;
}

export function harness(opts: { configFile?: string; env?: NodeJS.ProcessEnv; capacity?: number } = {}): Harness {
  const configs = new ConfigStore(opts.configFile ?? DEMO_CONFIG, opts.env ?? DEMO_ENV);
  const registry = new ExchangeRegistry(opts.capacity ?? 64, 600_000);
  const mem = memorySinks();
  return {
    ...mem,
    configs,
    registry,
    router: () => new RouterProcessor(configs, registry, mem.sinks),
    upstream: (cluster) => new UpstreamProcessor(cluster, registry, mem.sinks),
    close: () => registry.close(),
  };
}

/** Request headers of a chat call as Envoy hands them to the router-level filter. */
export function chatHeaders(over: Record<string, string> = {}): Record<string, string> {
  return {
    ':method': 'POST',
    ':path': '/v1/chat/completions',
    ':authority': 'gateway.local',
    'content-type': 'application/json',
    authorization: `Bearer ${DEMO_KEY}`,
    'x-request-id': 'req-1',
    ...over,
  };
}

export const PROMPT_CANARY = 'PROMPT-CANARY-7f3a9c';

export function chatBody(model: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ model, messages: [{ role: 'user', content: `Say hi. ${PROMPT_CANARY}` }], ...extra });
}

/** A single answer from a processor (fails on none or several). */
export function one(answers: Answers): ExtProcResponse {
  const list = Array.isArray(answers) ? (answers as readonly ExtProcResponse[]) : [answers as ExtProcResponse];
  assert.equal(list.length, 1, `expected one answer, got ${list.length}`);
  return list[0]!;
}

/** Answers as a list. */
export function all(answers: Answers): readonly ExtProcResponse[] {
  return Array.isArray(answers) ? (answers as readonly ExtProcResponse[]) : [answers as ExtProcResponse];
}

/**
 * Request headers through `router`; must be accepted, which means held: the answer comes with
 * the body's. Returns the request id the router assigned.
 */
export function admitHeaders(router: RouterProcessor, headers: Record<string, string> = chatHeaders()): { id: string } {
  assert.deepEqual(all(router.handle(headersMessage('request_headers', headers))), [], 'accepted headers are answered with the body');
  const id = router.requestId;
  assert.ok(id, 'the router assigns its own request id');
  return { id };
}

/**
 * Runs request headers and body (in `chunks` pieces) through `router`; both must be accepted.
 * `headers` is the answer to the request headers (plan, path, auth, stripped headers); `plan`
 * merges it with the body answers (the replacement body, if any, is the first chunk's).
 */
export function admit(
  router: RouterProcessor,
  body: string,
  headers: Record<string, string> = chatHeaders(),
  chunks = 1,
): { id: string; headers: Mutation; plan: Mutation; bodyAnswers: Mutation[] } {
  admitHeaders(router, headers);
  const bytes = Buffer.from(body);
  const size = Math.ceil(bytes.length / chunks);
  let answers: readonly ExtProcResponse[] = [];
  for (let i = 0; i < chunks; i++) {
    const last = i === chunks - 1;
    answers = all(router.handle(bodyMessage('request_body', bytes.subarray(i * size, last ? bytes.length : (i + 1) * size), last)));
    if (!last) assert.deepEqual(answers, [], 'chunks before the last are answered with it');
  }
  assert.equal(answers.length, 1 + chunks, 'the headers and every chunk are answered, in order');
  const hm = phaseMutation(answers[0]!, 'request_headers');
  const bodyAnswers = answers.slice(1).map((a) => phaseMutation(a, 'request_body'));
  const id = hm.set['x-request-id'];
  assert.ok(id, 'the router writes its own x-request-id');
  return { id, headers: hm, plan: { ...hm, body: bodyAnswers[0]!.body, clearBody: bodyAnswers[0]!.clearBody }, bodyAnswers };
}

/** One upstream attempt's header phase as Envoy sends it in `cluster`, for the request `id`. */
export function attempt(
  h: Harness,
  id: string,
  cluster: string,
  attemptCount: number | undefined,
  extra: Record<string, string> = {},
): { processor: UpstreamProcessor; res: ExtProcResponse } {
  const processor = h.upstream(cluster);
  const headers: Record<string, string> = { ':method': 'POST', ':path': '/v1/chat/completions', 'x-request-id': id, ...extra };
  if (attemptCount !== undefined) headers['x-envoy-attempt-count'] = String(attemptCount);
  return { processor, res: one(processor.handle(headersMessage('request_headers', headers))) };
}

/** Feeds response body pieces to the router (the last with end_of_stream) and joins the bodies it sends on. */
export function responseBody(router: RouterProcessor, pieces: ReadonlyArray<string | Uint8Array>): { text: string; last: Mutation } {
  let text = '';
  let last: Mutation | undefined;
  pieces.forEach((piece, i) => {
    last = phaseMutation(one(router.handle(bodyMessage('response_body', piece, i === pieces.length - 1))), 'response_body');
    assert.ok(last.body !== undefined, 'every response_body reply must set or clear the body');
    text += last.body.toString('utf8');
  });
  return { text, last: last! };
}

/**
 * A JSON response (an answer or an error) through the router: its headers' answer is held until
 * the body is in, then the headers and every piece are answered together. Returns the headers
 * mutation and the body the caller gets (the pieces' replacements joined).
 */
export function jsonResponse(
  router: RouterProcessor,
  headers: Record<string, string>,
  pieces: ReadonlyArray<string | Uint8Array>,
): { headers: Mutation; text: string; bodyAnswers: Mutation[] } {
  assert.deepEqual(all(router.handle(headersMessage('response_headers', headers))), [], 'JSON response headers are answered with the body');
  let answers: readonly ExtProcResponse[] = [];
  pieces.forEach((piece, i) => {
    const last = i === pieces.length - 1;
    answers = all(router.handle(bodyMessage('response_body', piece, last)));
    if (!last) assert.deepEqual(answers, [], 'pieces before the last are answered with it');
  });
  assert.equal(answers.length, 1 + pieces.length, 'the headers and every piece are answered, in order');
  const bodyAnswers = answers.slice(1).map((a) => phaseMutation(a, 'response_body'));
  for (const b of bodyAnswers) assert.ok(b.body !== undefined, 'every piece is replaced or cleared');
  return { headers: phaseMutation(answers[0]!, 'response_headers'), text: bodyAnswers.map((b) => b.body!.toString('utf8')).join(''), bodyAnswers };
}
