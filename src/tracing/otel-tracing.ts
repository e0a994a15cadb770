/**
 * Tracing on: the OpenTelemetry SDK, exporting over OTLP/gRPC. Loaded only by start.ts, and only
 * when tracing is configured. Span names and attributes follow the OpenTelemetry semantic
 * conventions: GenAI client spans for the attempts (`chat <model>`, gen_ai.*, semconv v1.37+,
 * status Development), RPC attributes for the ext_proc streams; the gateway's own are `gateway.*`.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span, type TextMapGetter, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import type { Metadata } from '@grpc/grpc-js';
import type { ProcessorFactory } from '../extproc/server.ts';
import type { ExtProcRequest } from '../extproc/types.ts';
import type { Attempt, Exchange } from '../exchange/exchange.ts';
import type { Outcome } from '../exchange/finish.ts';
import type { PolicyStep, Verdict } from '../policy/pipeline.ts';
import { GEN_AI_OPERATION_CHAT, GEN_AI_PROVIDER_NAME } from '../metrics/gen-ai.ts';
import type { GatewayTracing } from './hooks.ts';
import type { TracingSettings } from './config.ts';
import { TracedProcessor, type StreamTrace } from './traced-processor.ts';

/** gRPC metadata as a W3C trace-context carrier (`traceparent`, `tracestate`). */
const metadataGetter: TextMapGetter<Metadata> = {
  keys: (md) => Object.keys(md.getMap()),
  get: (md, key) => {
    const v = md.get(key);
    return v.length === 0 ? undefined : v.map(String);
  },
};

type HeaderEntry = { key?: string; value?: string; raw_value?: Uint8Array };

/** An ext_proc request_headers message's header list as a W3C trace-context carrier (keys are lower case, as Envoy sends them). */
const headerGetter: TextMapGetter<readonly HeaderEntry[]> = {
  keys: (headers) => headers.map((h) => h.key ?? ''),
  get: (headers, key) => {
    const h = headers.find((x) => x.key === key);
    if (!h) return undefined;
    return h.raw_value ? Buffer.from(h.raw_value).toString('latin1') : h.value;
  },
};

/** What the request's hooks need, kept from its router-level stream until the request is settled. */
interface RequestTrace {
  readonly router: StreamTrace;
  /** The upstream ext_proc stream of the latest retry, if any: its attempt's span goes under it. */
  upstream: StreamTrace | undefined;
  /** The open attempt span (the latest attempt). */
  attempt: Span | undefined;
  attemptNumber: number;
  /** performance.now() at registration, for the sweep of requests never settled. */
  readonly atMs: number;
}

/** Longest a request's trace state is kept after its stream closed without being settled. */
const KEEP_UNSETTLED_MS = 10 * 60_000;

export class OtelTracing implements GatewayTracing {
  readonly enabled = true;
  private readonly tracer: Tracer;
  private readonly propagator = new W3CTraceContextPropagator();
  private readonly requests = new Map<string, RequestTrace>();
  private registered = 0;

  constructor(
    private readonly provider: BasicTracerProvider,
    private readonly filterKey: string,
  ) {
    this.tracer = provider.getTracer('llm-extproc');
  }

  wrapFactory(factory: ProcessorFactory): ProcessorFactory {
    const registry = {
      router: (id: string, stream: StreamTrace) => {
        const now = performance.now();
        this.requests.set(id, { router: stream, upstream: undefined, attempt: undefined, attemptNumber: 0, atMs: now });
        // A request whose settlement never comes (a failure in between) must not stay forever:
        // every 1,024 requests, the oldest entries (the map keeps insertion order) are checked.
        if (++this.registered % 1024 === 0) {
          for (const [key, r] of this.requests) {
            if (now - r.atMs < KEEP_UNSETTLED_MS) break;
            r.attempt?.end();
            this.requests.delete(key);
          }
        }
      },
      upstream: (id: string, stream: StreamTrace) => {
        const r = this.requests.get(id);
        if (r) r.upstream = stream;
      },
    };
    return (md: Metadata) => {
      const inner = factory(md);
      const position = md.get(this.filterKey)[0] === 'upstream' ? 'upstream' : 'router';
      // Envoy's ext_proc client span (`async …ExternalProcessor.Process egress`) is the parent.
      const fromEnvoy = this.propagator.extract(ROOT_CONTEXT, md, metadataGetter);
      const open = (first: ExtProcRequest | undefined): { span: Span; context: Context } => {
        const parent = this.parentOf(fromEnvoy, position, first);
        const span = this.tracer.startSpan(
          `ext_proc ${position}`,
          {
            kind: SpanKind.SERVER,
            attributes: {
              'rpc.system': 'grpc',
              'rpc.service': 'envoy.service.ext_proc.v3.ExternalProcessor',
              'rpc.method': 'Process',
              'gateway.filter': position,
              ...(position === 'upstream' ? { 'gateway.cluster': String(md.get('x-llmx-cluster')[0] ?? '') } : {}),
            },
          },
          parent,
        );
        return { span, context: trace.setSpan(parent, span) };
      };
      return new TracedProcessor(inner, this.tracer, open, position, registry);
    };
  }

  /**
   * The stream span's parent: Envoy's context from the gRPC metadata when it sent one (its tracer
   * on); else, for the router-level stream only, the caller's W3C `traceparent`/`tracestate` from
   * the request headers (Envoy without a tracer forwards them untouched, and with one it would
   * continue the same context, so trusting them grants a caller nothing Envoy would not); else none
   * (a new trace, sampled at `sampleRatio`). An upstream stream without Envoy's context goes
   * under its request's router-level stream (found by the x-request-id the router wrote), so a
   * retry stays in the request's trace.
   */
  private parentOf(fromEnvoy: Context, position: 'router' | 'upstream', first: ExtProcRequest | undefined): Context {
    if (trace.getSpanContext(fromEnvoy)) return fromEnvoy;
    const headers = first?.request_headers?.headers?.headers;
    if (!headers) return fromEnvoy;
    if (position === 'router') return this.propagator.extract(ROOT_CONTEXT, headers, headerGetter);
    const id = headerGetter.get(headers, 'x-request-id');
    const router = typeof id === 'string' ? this.requests.get(id)?.router.span : undefined;
    return router ? trace.setSpan(ROOT_CONTEXT, router) : fromEnvoy;
  }

  wrapStep<T, S>(step: PolicyStep<T, S>): PolicyStep<T, S> {
    const tracer = this.tracer;
    const parentOf = (request: T): Context => {
      const id = (request as { id?: unknown }).id;
      return (typeof id === 'string' && this.requests.get(id)?.router.phaseContext) || ROOT_CONTEXT;
    };
    const wrapped: PolicyStep<T, S> = {
      id: step.id,
      admit(request: T): Verdict | Promise<Verdict> {
        const parent = parentOf(request);
        // A request without a traced stream (sampled out, or no parent) gets no orphan span.
        if (!trace.getSpan(parent)?.isRecording()) return step.admit(request);
        const span = tracer.startSpan(`policy ${step.id}`, { attributes: { 'gateway.policy.step': step.id } }, parent);
        const decided = (v: Verdict): Verdict => {
          span.setAttribute('gateway.policy.verdict', v.kind);
          span.end();
          return v;
        };
        const refused = (err: unknown): never => {
          const code = (err as { code?: unknown }).code;
          span.setAttribute('gateway.policy.verdict', 'refused');
          if (typeof code === 'string') span.setAttribute('error.type', code);
          span.end();
          throw err;
        };
        try {
          const v = step.admit(request);
          return v instanceof Promise ? v.then(decided, refused) : decided(v);
        } catch (err) {
          return refused(err);
        }
      },
    };
    if (step.release) wrapped.release = (request) => step.release!(request);
    if (step.settle) wrapped.settle = (request, settlement) => step.settle!(request, settlement);
    return wrapped;
  }

  attemptStarted(ex: Exchange, attempt: Attempt): void {
    const r = this.requests.get(ex.id);
    if (!r || attempt.number === r.attemptNumber) return;
    if (r.attempt) {
      // Superseded: Envoy retried, so this attempt failed (its cause is in Envoy's upstream span).
      r.attempt.setStatus({ code: SpanStatusCode.ERROR, message: 'retried' });
      r.attempt.setAttribute('error.type', 'retried');
      r.attempt.end();
    }
    const under = attempt.number > 1 && r.upstream ? r.upstream : r.router;
    const model = ex.model?.name ?? '';
    r.attemptNumber = attempt.number;
    r.attempt = this.tracer.startSpan(
      `${GEN_AI_OPERATION_CHAT} ${model}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'gen_ai.operation.name': GEN_AI_OPERATION_CHAT,
          'gen_ai.provider.name': GEN_AI_PROVIDER_NAME[attempt.provider.dialect.id],
          'gen_ai.request.model': model,
          'gateway.provider': attempt.provider.name,
          'gateway.attempt': attempt.number,
          'gateway.request_id': ex.id,
        },
      },
      trace.setSpan(ROOT_CONTEXT, under.span),
    );
  }

  finished(ex: Exchange, outcome: Outcome): void {
    const r = this.requests.get(ex.id);
    if (!r) return;
    this.requests.delete(ex.id);
    const span = r.attempt;
    if (!span) return;
    const a = ex.lastAttempt;
    span.setAttribute('gateway.outcome', outcome);
    if (a) span.setAttribute('gen_ai.response.model', a.providerModel);
    if (a?.status !== undefined) span.setAttribute('http.response.status_code', a.status);
    if (ex.usage) {
      span.setAttribute('gen_ai.usage.input_tokens', ex.usage.promptTokens);
      span.setAttribute('gen_ai.usage.output_tokens', ex.usage.completionTokens);
    }
    if (r.router.finishReasons.length > 0) span.setAttribute('gen_ai.response.finish_reasons', r.router.finishReasons);
    if (outcome !== 'completed') {
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.setAttribute('error.type', ex.errorCode ?? outcome);
    }
    span.end();
  }

  traceId(ex: Exchange): string | undefined {
    const r = this.requests.get(ex.id);
    const ctx = r?.router.span.spanContext();
    return ctx && r!.router.span.isRecording() ? ctx.traceId : undefined;
  }

  async shutdown(): Promise<void> {
    // A receiver that is down was already reported (start.ts's diag logger); stopping goes on.
    await this.provider.shutdown().catch(() => undefined);
  }
}

/**
 * The SDK with `settings`: W3C trace context, parent-based sampling (a trace Envoy or the caller
 * sampled is recorded; one the ext_proc starts is sampled at `sampleRatio`), spans batched to
 * the OTLP/gRPC exporter (export failures are the exporter's to report; they never touch a request).
 */
export function createOtelTracing(settings: TracingSettings, filterKey: string): OtelTracing {
  const exporter = new OTLPTraceExporter({ url: settings.url });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': settings.serviceName }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(settings.sampleRatio) }),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1000 })],
  });
  return new OtelTracing(provider, filterKey);
}
