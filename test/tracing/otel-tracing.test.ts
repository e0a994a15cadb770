import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Metadata } from '@grpc/grpc-js';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { OtelTracing } from '../../src/tracing/otel-tracing.ts';
import { phaseResponse, streamedBodyResponse } from '../../src/extproc/messages.ts';
import type { StreamProcessor } from '../../src/extproc/server.ts';
import type { ExtProcRequest, ExtProcResponse } from '../../src/extproc/types.ts';
import type { Attempt, Exchange } from '../../src/exchange/exchange.ts';
import type { PolicyStep } from '../../src/policy/pipeline.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const ENVOY_SPAN = '00f067aa0ba902b7';

function setup(): { tracing: OtelTracing; spans: () => ReadableSpan[] } {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return { tracing: new OtelTracing(provider, 'x-llmx-filter'), spans: () => exporter.getFinishedSpans() };
}

/** A router-level processor that answers each phase the way router-processor.ts does, as far as tracing reads it. */
function fakeRouter(requestId: string, onBody: () => Promise<void> = async () => undefined): StreamProcessor {
  return {
    handle(msg: ExtProcRequest): ExtProcResponse | Promise<ExtProcResponse> {
      if (msg.request_body) return onBody().then(() => phaseResponse('request_body'));
      if (msg.request_headers) return phaseResponse('request_headers', { headers: { set: { 'x-request-id': requestId } } });
      if (msg.response_body) return streamedBodyResponse(msg.response_body.end_of_stream ? 'data: {"choices":[{"finish_reason":"length"}]}\n\n' : 'data: {}\n\n', false);
      return phaseResponse('response_headers');
    },
    close: () => undefined,
  };
}

const provider = (name: string) => ({ name, dialect: { id: 'anthropic' } }) as unknown as Attempt['provider'];

test('stream, phases, policy steps and attempts: parents, names and attributes', async () => {
  const { tracing, spans } = setup();
  const md = new Metadata();
  md.set('x-llmx-filter', 'router');
  md.set('traceparent', `00-${TRACE}-${ENVOY_SPAN}-01`);
  const ex = { id: 'req-1', model: { name: 'claude' }, lastAttempt: undefined as Attempt | undefined, usage: { promptTokens: 12, completionTokens: 34 } } as unknown as Exchange;
  const refusing: PolicyStep<Exchange, unknown> = {
    id: 'budget',
    admit: () => {
      throw Object.assign(new Error('over'), { code: 'budget_exceeded' });
    },
  };
  const admitting: PolicyStep<Exchange, unknown> = { id: 'rate_limit', admit: async () => ({ kind: 'continue' }) };

  const first = { number: 1, provider: provider('a'), providerModel: 'm-a' } as Attempt;
  // The policy steps and the first attempt run inside the request body phase, as in router-processor.ts.
  const p = tracing.wrapFactory(() =>
    fakeRouter('req-1', async () => {
      await tracing.wrapStep(admitting).admit(ex);
      assert.throws(() => tracing.wrapStep(refusing).admit(ex), /over/);
      tracing.attemptStarted(ex, first);
    }),
  )(md);
  p.handle({ request_headers: { headers: { headers: [] } } });
  assert.equal(tracing.traceId(ex), TRACE);
  await p.handle({ request_body: { body: new Uint8Array(1), end_of_stream: true } });
  const second = { number: 2, provider: provider('b'), providerModel: 'm-b', status: 200 } as Attempt;
  tracing.attemptStarted(ex, second);
  (ex as { lastAttempt: Attempt }).lastAttempt = second;
  p.handle({ response_headers: { headers: { headers: [] } } });
  for (let i = 0; i < 3; i++) p.handle({ response_body: { body: new Uint8Array(1), end_of_stream: i === 2 } });
  tracing.finished(ex, 'completed');
  p.close('done');

  const byName = new Map(spans().map((s) => [`${s.name}#${String(s.attributes['gateway.attempt'] ?? '')}`, s]));
  const get = (n: string): ReadableSpan => byName.get(n) ?? assert.fail(`no span ${n}; have ${[...byName.keys()].join(', ')}`);
  const stream = get('ext_proc router#');
  assert.equal(stream.spanContext().traceId, TRACE);
  assert.equal(stream.parentSpanContext?.spanId, ENVOY_SPAN);
  const reqBody = get('ext_proc request_body#');
  assert.equal(reqBody.parentSpanContext?.spanId, stream.spanContext().spanId);
  assert.equal(get('policy rate_limit#').attributes['gateway.policy.verdict'], 'continue');
  assert.equal(get('policy rate_limit#').parentSpanContext?.spanId, reqBody.spanContext().spanId);
  assert.deepEqual(
    { verdict: get('policy budget#').attributes['gateway.policy.verdict'], error: get('policy budget#').attributes['error.type'] },
    { verdict: 'refused', error: 'budget_exceeded' },
  );
  assert.equal(get('ext_proc response_body#').attributes['gateway.ext_proc.messages'], 3);
  assert.equal(get('chat claude#1').attributes['error.type'], 'retried');
  const answered = get('chat claude#2');
  assert.deepEqual(
    ['gen_ai.provider.name', 'gen_ai.response.model', 'gen_ai.usage.input_tokens', 'gen_ai.usage.output_tokens', 'gen_ai.response.finish_reasons', 'http.response.status_code'].map((k) => answered.attributes[k]),
    ['anthropic', 'm-b', 12, 34, ['length'], 200],
  );
  // Settled: the request's state is gone.
  assert.equal(tracing.traceId(ex), undefined);
  await tracing.shutdown();
});

test('a stream Envoy did not sample records nothing, and its request gets no trace id', async () => {
  const { tracing, spans } = setup();
  const md = new Metadata();
  md.set('traceparent', `00-${TRACE}-${ENVOY_SPAN}-00`);
  const p = tracing.wrapFactory(() => fakeRouter('req-2'))(md);
  p.handle({ request_headers: { headers: { headers: [] } } });
  const ex = { id: 'req-2' } as unknown as Exchange;
  assert.equal(tracing.traceId(ex), undefined);
  await tracing.wrapStep<Exchange, unknown>({ id: 's', admit: () => ({ kind: 'continue' }) }).admit(ex);
  p.close('done');
  assert.equal(spans().length, 0);
  await tracing.shutdown();
});

const CALLER_TRACE = '0af7651916cd43dd8448eb211c80319c';
const CALLER_SPAN = 'b7ad6b7169203331';
const headerList = (entries: Record<string, string>) => Object.entries(entries).map(([key, v]) => ({ key, raw_value: Buffer.from(v) }));

test('no trace context from Envoy (its tracer off): the router stream continues the caller\'s traceparent', async () => {
  const { tracing, spans } = setup();
  const md = new Metadata();
  md.set('x-llmx-filter', 'router');
  const p = tracing.wrapFactory(() => fakeRouter('req-3'))(md);
  p.handle({ request_headers: { headers: { headers: headerList({ traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01`, tracestate: 'vendor=x' }) } } });
  const ex = { id: 'req-3' } as unknown as Exchange;
  // The log line's trace id is the caller's, not a new one.
  assert.equal(tracing.traceId(ex), CALLER_TRACE);
  p.close('done');
  const stream = spans().find((s) => s.name === 'ext_proc router')!;
  assert.equal(stream.spanContext().traceId, CALLER_TRACE);
  assert.equal(stream.parentSpanContext?.spanId, CALLER_SPAN);
  assert.equal(stream.spanContext().traceState?.get('vendor'), 'x');
  await tracing.shutdown();
});

test('Envoy\'s context wins over the caller\'s headers; an upstream stream goes under its request\'s router stream; no context anywhere starts a trace', async () => {
  const { tracing, spans } = setup();
  const callerHeaders = headerList({ traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` });
  const withEnvoy = new Metadata();
  withEnvoy.set('traceparent', `00-${TRACE}-${ENVOY_SPAN}-01`);
  const a = tracing.wrapFactory(() => fakeRouter('req-4'))(withEnvoy);
  a.handle({ request_headers: { headers: { headers: callerHeaders } } });
  a.close('done');
  const upstreamMd = new Metadata();
  upstreamMd.set('x-llmx-filter', 'upstream');
  const b = tracing.wrapFactory(() => fakeRouter('req-5'))(upstreamMd);
  b.handle({ request_headers: { headers: { headers: [...callerHeaders, ...headerList({ 'x-request-id': 'req-4' })] } } });
  b.close('done');
  const c = tracing.wrapFactory(() => fakeRouter('req-6'))(new Metadata());
  c.handle({ request_headers: { headers: { headers: headerList({ traceparent: 'not-a-traceparent' }) } } });
  c.close('done');
  const [router, upstream, fresh] = [
    spans().find((s) => s.name === 'ext_proc router' && s.parentSpanContext?.spanId === ENVOY_SPAN),
    spans().find((s) => s.name === 'ext_proc upstream'),
    spans().find((s) => s.name === 'ext_proc router' && s.parentSpanContext === undefined),
  ];
  assert.equal(router?.spanContext().traceId, TRACE);
  // The retry's stream (Envoy sent no context for it) joins the router stream of request req-4.
  assert.equal(upstream?.parentSpanContext?.spanId, router?.spanContext().spanId);
  assert.equal(upstream?.spanContext().traceId, TRACE);
  assert.ok(fresh && fresh.spanContext().traceId !== CALLER_TRACE);
  await tracing.shutdown();
});
