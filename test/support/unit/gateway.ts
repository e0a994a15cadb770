import assert from 'node:assert/strict';
import { ConfigStore } from '../../../src/config/store.ts';
import { ExchangeRegistry } from '../../../src/exchange/registry.ts';
import { RouterProcessor } from '../../../src/exchange/router-processor.ts';
import { UpstreamProcessor } from '../../../src/exchange/upstream-processor.ts';
import type { ExtProcResponse } from '../../../src/extproc/types.ts';
import { DEMO_CONFIG, DEMO_ENV, DEMO_KEY } from './config.ts';
import { bodyMessage, headersMessage, phaseMutation, syncReply, type Mutation } from './ext-proc.ts';
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

/** Request headers through `router`; must be accepted. Returns the x-request-id the router wrote and the mutation. */
export function admitHeaders(router: RouterProcessor, headers: Record<string, string> = chatHeaders()): { id: string; headers: Mutation } {
  const m = phaseMutation(router.handle(headersMessage('request_headers', headers)), 'request_headers');
  const id = m.set['x-request-id'];
  assert.ok(id, 'the router writes its own x-request-id');
  return { id, headers: m };
}

/** Runs request headers and body through `router`; both must be accepted. */
export function admit(router: RouterProcessor, body: string, headers: Record<string, string> = chatHeaders()): { id: string; headers: Mutation; plan: Mutation } {
  const admitted = admitHeaders(router, headers);
  return { ...admitted, plan: phaseMutation(router.handle(bodyMessage('request_body', body)), 'request_body') };
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
  // Synchronous for every request below the heavy-work threshold (a large one's retry is queued).
  return { processor, res: syncReply(processor.handle(headersMessage('request_headers', headers))) };
}

/** Feeds response body pieces to the router (the last with end_of_stream) and joins the bodies it sends on. */
export function responseBody(router: RouterProcessor, pieces: ReadonlyArray<string | Uint8Array>): { text: string; last: Mutation } {
  let text = '';
  let last: Mutation | undefined;
  pieces.forEach((piece, i) => {
    last = phaseMutation(router.handle(bodyMessage('response_body', piece, i === pieces.length - 1)), 'response_body');
    assert.ok(last.body !== undefined, 'every response_body reply must set or clear the body');
    text += last.body.toString('utf8');
  });
  return { text, last: last! };
}
