import { SpanStatusCode, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import type { StreamProcessor } from '../extproc/server.ts';
import type { ExtProcRequest, ExtProcResponse } from '../extproc/types.ts';

type Phase = 'request_headers' | 'request_body' | 'response_headers' | 'response_body' | 'request_trailers' | 'response_trailers';

/** What the router-level stream's spans share with the hooks that run for its request (otel-tracing.ts). */
export interface StreamTrace {
  readonly span: Span;
  /** The span the request's next child belongs under: the phase being handled, else the stream's. */
  phaseContext: Context;
  /** `finish_reason`s seen in the answer sent to the caller, in order, once each. */
  readonly finishReasons: string[];
}

/**
 * Hands a stream's trace to the hooks of its request once the request id is known: the
 * router-level stream's from the x-request-id it writes, an upstream stream's from the
 * x-request-id its request headers carry (the same id).
 */
export interface StreamTraceRegistry {
  router(requestId: string, stream: StreamTrace): void;
  upstream(requestId: string, stream: StreamTrace): void;
}

function phaseOf(msg: ExtProcRequest): Phase {
  if (msg.request_headers) return 'request_headers';
  if (msg.request_body) return 'request_body';
  if (msg.response_headers) return 'response_headers';
  if (msg.response_body) return 'response_body';
  return msg.request_trailers ? 'request_trailers' : 'response_trailers';
}

/** Whether this message is the phase's last: headers and trailers always, a body at end_of_stream. */
function endsPhase(msg: ExtProcRequest, phase: Phase): boolean {
  if (phase === 'request_body') return msg.request_body?.end_of_stream === true;
  if (phase === 'response_body') return msg.response_body?.end_of_stream === true;
  return true;
}

type HeaderSet = { header?: { key?: string; raw_value?: Uint8Array } };

/** The x-request-id the router-level filter writes at request headers (router-processor.ts): the Exchange's id. */
function requestIdSet(res: ExtProcResponse): string | undefined {
  const rh = res['request_headers'] as { response?: { header_mutation?: { set_headers?: HeaderSet[] } } } | undefined;
  for (const s of rh?.response?.header_mutation?.set_headers ?? []) {
    if (s.header?.key === 'x-request-id' && s.header.raw_value) return Buffer.from(s.header.raw_value).toString('latin1');
  }
  return undefined;
}

/** x-request-id of a request_headers message (an upstream attempt's: the router-level filter wrote it). */
function requestIdHeader(msg: ExtProcRequest): string | undefined {
  for (const h of msg.request_headers?.headers?.headers ?? []) {
    if (h.key === 'x-request-id') return h.raw_value ? Buffer.from(h.raw_value).toString('latin1') : h.value;
  }
  return undefined;
}

/** The bytes a response_body answer sends the caller (replaced body or FULL_DUPLEX chunk). */
function bodySent(res: ExtProcResponse): Uint8Array | undefined {
  const rb = res['response_body'] as { response?: { body_mutation?: { body?: Uint8Array; streamed_response?: { body?: Uint8Array } } } } | undefined;
  const m = rb?.response?.body_mutation;
  return m?.body ?? m?.streamed_response?.body;
}

const FINISH_REASON = /"finish_reason":"([a-z_]{1,32})"/g;

/** The status of an immediate response (the gateway's own reply), if `res` is one. */
function immediateStatus(res: ExtProcResponse): number | undefined {
  const ir = res['immediate_response'] as { status?: { code?: number } } | undefined;
  return ir?.status?.code;
}

/**
 * Starts a stream's span: `first` is the stream's first message (undefined when the stream closes
 * before any), so the caller's own trace context can be read from its request headers when Envoy
 * sent none in the gRPC metadata (otel-tracing.ts). Returns the span and the context it sets.
 */
export type StreamSpanOpener = (first: ExtProcRequest | undefined) => { span: Span; context: Context };

/**
 * Wraps one ext_proc stream's processor: the stream's span (`ext_proc <filter>`, child of the
 * trace context Envoy sent in the gRPC metadata, or else of the caller's `traceparent`), and one
 * span per phase, from the phase's first message to its last (a streamed body is one span, its
 * chunk count an attribute, not a span per chunk). The stream's span starts at the first message
 * (its request headers carry the caller's context). Answers are passed on unchanged; the
 * wrapper only reads them.
 */
export class TracedProcessor implements StreamProcessor {
  attach?: (push: (res: ExtProcResponse) => void) => void;
  private phase: { name: Phase; span: Span; messages: number } | undefined;
  private ended = false;
  private opened: { stream: StreamTrace; context: Context } | undefined;

  constructor(
    private readonly inner: StreamProcessor,
    private readonly tracer: Tracer,
    private readonly open: StreamSpanOpener,
    private readonly position: 'router' | 'upstream',
    private readonly registry: StreamTraceRegistry,
  ) {
    if (inner.attach) this.attach = (push) => inner.attach!(push);
  }

  /** The stream's span, started on the first call. */
  private streamOf(first: ExtProcRequest | undefined): { stream: StreamTrace; context: Context } {
    if (!this.opened) {
      const { span, context } = this.open(first);
      this.opened = { stream: { span, phaseContext: context, finishReasons: [] }, context };
    }
    return this.opened;
  }

  private get stream(): StreamTrace {
    return this.streamOf(undefined).stream;
  }

  private get streamContext(): Context {
    return this.streamOf(undefined).context;
  }

  handle(msg: ExtProcRequest): ExtProcResponse | Promise<ExtProcResponse> {
    this.streamOf(msg);
    const name = phaseOf(msg);
    let phase = this.phase;
    if (phase?.name !== name) {
      if (phase) this.endPhase(phase);
      const span = this.tracer.startSpan(`ext_proc ${name}`, undefined, this.streamContext);
      phase = this.phase = { name, span, messages: 0 };
      this.stream.phaseContext = trace.setSpan(this.streamContext, span);
    }
    phase.messages++;
    const current = phase;
    if (this.position === 'upstream' && name === 'request_headers') {
      const id = requestIdHeader(msg);
      if (id !== undefined) this.registry.upstream(id, this.stream);
    }
    const last = endsPhase(msg, name);
    let out: ExtProcResponse | Promise<ExtProcResponse>;
    try {
      out = this.inner.handle(msg);
    } catch (err) {
      this.endPhase(current, err);
      throw err;
    }
    const done = (res: ExtProcResponse): ExtProcResponse => {
      this.observe(name, res);
      if (last || immediateStatus(res) !== undefined) this.endPhase(current);
      return res;
    };
    if (out instanceof Promise) {
      return out.then(done, (err: unknown) => {
        this.endPhase(current, err);
        throw err;
      });
    }
    return done(out);
  }

  close(reason: 'done' | 'cancelled' | 'error'): void {
    if (this.phase) this.endPhase(this.phase);
    this.inner.close(reason);
    if (this.ended) return;
    this.ended = true;
    if (reason !== 'done') this.stream.span.setAttribute('gateway.stream.close', reason);
    if (reason === 'error') this.stream.span.setStatus({ code: SpanStatusCode.ERROR, message: 'ext_proc stream failed' });
    this.stream.span.end();
  }

  /** What the answer tells the trace: the request id (router), the gateway's own reply, finish reasons. */
  private observe(name: Phase, res: ExtProcResponse): void {
    const status = immediateStatus(res);
    if (status !== undefined) {
      this.stream.span.setAttribute('http.response.status_code', status);
      if (status >= 500) this.stream.span.setStatus({ code: SpanStatusCode.ERROR });
    }
    if (this.position !== 'router') return;
    if (name === 'request_headers') {
      const id = requestIdSet(res);
      if (id !== undefined) this.registry.router(id, this.stream);
    } else if (name === 'response_body') {
      const body = bodySent(res);
      if (body && body.length > 0) {
        for (const m of Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('latin1').matchAll(FINISH_REASON)) {
          if (!this.stream.finishReasons.includes(m[1]!)) this.stream.finishReasons.push(m[1]!);
        }
      }
    }
  }

  private endPhase(phase: NonNullable<TracedProcessor['phase']>, err?: unknown): void {
    if (this.phase === phase) {
      this.phase = undefined;
      this.stream.phaseContext = this.streamContext;
    }
    if (phase.messages > 1) phase.span.setAttribute('gateway.ext_proc.messages', phase.messages);
    if (err !== undefined) phase.span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
    phase.span.end();
  }
}
