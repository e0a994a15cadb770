/**
 * The request path's view of tracing: a few hooks the gateway calls at fixed points (a new
 * ext_proc stream, a policy step, an upstream attempt, the request's end). Off (the default),
 * `tracing()` is TRACING_OFF, a constant whose hooks return at once and allocate nothing, and
 * no OpenTelemetry module is loaded; on, src/tracing/otel-tracing.ts implements them.
 * Imports nothing from OpenTelemetry, so the hot path pays for tracing only when it is on.
 */
import type { ProcessorFactory } from '../extproc/server.ts';
import type { Attempt, Exchange } from '../exchange/exchange.ts';
import type { Outcome } from '../exchange/finish.ts';
import type { PolicyStep } from '../policy/pipeline.ts';

export interface GatewayTracing {
  readonly enabled: boolean;
  /** Wraps the ext_proc server's processor factory: one span per stream, one per phase. */
  wrapFactory(factory: ProcessorFactory): ProcessorFactory;
  /** Wraps a policy step: one span per `admit` (the step's id in the span name). */
  wrapStep<T, S>(step: PolicyStep<T, S>): PolicyStep<T, S>;
  /** Attempt `attempt` of `ex` was prepared (prepareAttempt): its span starts, the previous attempt's ends. */
  attemptStarted(ex: Exchange, attempt: Attempt): void;
  /** The request is settled (finishExchange): usage and finish reasons go on the answering attempt's span, which ends. */
  finished(ex: Exchange, outcome: Outcome): void;
  /** The W3C trace id (32 hex chars) of the request's spans, for its log line; undefined when not traced. */
  traceId(ex: Exchange): string | undefined;
  /** Flushes the spans still queued (at most a few seconds) and stops the exporter. */
  shutdown(): Promise<void>;
}

/** Tracing off: every hook does nothing; the factory and steps are returned as they are. */
export const TRACING_OFF: GatewayTracing = Object.freeze({
  enabled: false,
  wrapFactory: (factory: ProcessorFactory) => factory,
  wrapStep: <T, S>(step: PolicyStep<T, S>) => step,
  attemptStarted: () => undefined,
  finished: () => undefined,
  traceId: () => undefined,
  shutdown: () => Promise.resolve(),
});

let current: GatewayTracing = TRACING_OFF;

/** The process's tracing (TRACING_OFF until the gateway starts it). */
export function tracing(): GatewayTracing {
  return current;
}

/** Installs the process's tracing (Gateway.start); TRACING_OFF again on stop. */
export function setTracing(t: GatewayTracing): void {
  current = t;
}
