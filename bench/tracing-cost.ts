/**
 * What tracing costs the ext_proc per request, in-process (no Envoy):
 * `node --import tsx bench/tracing-cost.ts`.
 * - off (the default): the three hooks a request calls (attemptStarted, traceId, finished) on
 *   TRACING_OFF, against the same loop without them; ns per request.
 * - on: a router-level stream's spans as a traced request makes them (stream, four phases, five
 *   policy steps, one attempt with its GenAI attributes), batched to an exporter that drops them;
 *   µs per request, the processor's own work excluded.
 * Median of 5 rounds each.
 */
import { Metadata } from '@grpc/grpc-js';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { tracing } from '../src/tracing/hooks.ts';
import { OtelTracing } from '../src/tracing/otel-tracing.ts';
import { phaseResponse } from '../src/extproc/messages.ts';
import type { StreamProcessor } from '../src/extproc/server.ts';
import type { ExtProcRequest } from '../src/extproc/types.ts';
import type { Attempt, Exchange } from '../src/exchange/exchange.ts';
import type { PolicyStep } from '../src/policy/pipeline.ts';

const median = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
let sink = 0;

function offRound(n: number): [number, number] {
  const ex = { id: 'x' } as unknown as Exchange;
  const attempt = { number: 1 } as unknown as Attempt;
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    tracing().attemptStarted(ex, attempt);
    if (tracing().traceId(ex) === undefined) sink++;
    tracing().finished(ex, 'completed');
  }
  const hooks = Number(process.hrtime.bigint() - t0) / n;
  t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) sink++;
  return [hooks, Number(process.hrtime.bigint() - t0) / n];
}

const dropping: SpanExporter = { export: (_spans, done) => done({ code: 0 }), shutdown: () => Promise.resolve() };
const on = new OtelTracing(new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(dropping, { maxQueueSize: 100_000, maxExportBatchSize: 4096 })] }), 'x-llmx-filter');
const steps = ['rate-limit', 'budget', 'anthropic-thinking', 'response-cache', 'provider-limit'].map((id) => on.wrapStep<Exchange, unknown>({ id, admit: () => ({ kind: 'continue' }) }));
const provider = { name: 'openai-primary', dialect: { id: 'openai' } } as unknown as Attempt['provider'];
const msgs: ExtProcRequest[] = [
  { request_headers: { headers: { headers: [] } } },
  { request_body: { body: new Uint8Array(1), end_of_stream: true } },
  { response_headers: { headers: { headers: [] } } },
  { response_body: { body: new Uint8Array(1), end_of_stream: true } },
];
const body = Buffer.from('{"choices":[{"finish_reason":"stop"}]}');

function onRound(n: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const id = `r${i}`;
    const ex = { id, model: { name: 'gpt-4o-mini' }, lastAttempt: undefined as Attempt | undefined, usage: { promptTokens: 10, completionTokens: 20 } } as unknown as Exchange;
    const inner: StreamProcessor = {
      handle: (m) => {
        if (m.request_headers) return phaseResponse('request_headers', { headers: { set: { 'x-request-id': id } } });
        if (m.request_body) {
          for (const s of steps as PolicyStep<Exchange, unknown>[]) s.admit(ex);
          const a = { number: 1, provider, providerModel: 'gpt-4o-mini', status: 200 } as Attempt;
          on.attemptStarted(ex, a);
          (ex as { lastAttempt: Attempt }).lastAttempt = a;
          return phaseResponse('request_body');
        }
        return m.response_body ? phaseResponse('response_body', { body }) : phaseResponse('response_headers');
      },
      close: () => undefined,
    };
    const md = new Metadata();
    md.set('traceparent', `00-${(i + 1).toString(16).padStart(32, '0')}-00f067aa0ba902b7-01`);
    const p = on.wrapFactory(() => inner)(md);
    for (const m of msgs) p.handle(m);
    if (on.traceId(ex) !== undefined) sink++;
    on.finished(ex, 'completed');
    p.close('done');
  }
  return Number(process.hrtime.bigint() - t0) / n / 1000;
}

const off = Array.from({ length: 5 }, () => offRound(20_000_000));
const [hooks, empty] = [median(off.map((r) => r[0])), median(off.map((r) => r[1]))];
console.log(`tracing off: hooks ${hooks.toFixed(2)} ns/request, empty loop ${empty.toFixed(2)} ns/request, added ${(hooks - empty).toFixed(2)} ns`);
onRound(5_000);
const onUs = median(Array.from({ length: 5 }, () => onRound(20_000)));
console.log(`tracing on: ${onUs.toFixed(1)} µs/request for 11 spans (exporter dropping them) (sink ${sink > 0})`);
await on.shutdown();
