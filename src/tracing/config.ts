import { z } from 'zod';
import { strictObject } from '../config/strict-object.ts';
import { parseOtlpEndpoint } from './envoy-target.ts';

/**
 * gateway.yaml `observability.tracing` (README, Operations, *Tracing*):
 *
 * ```yaml
 * observability:
 *   tracing: { otlpEndpoint: http://otel-collector:4317, sampleRatio: 0.1, serviceName: llm-extproc }
 * ```
 *
 * Read at start: a change waits for a restart.
 */
export const tracingSchema = strictObject({
  /** OTLP/gRPC receiver: `http://host:port` (plaintext), `https://host:port` (TLS) or `host:port`. */
  otlpEndpoint: z
    .string()
    .min(1)
    .superRefine((raw, ctx) => {
      try {
        parseOtlpEndpoint(raw.trim());
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    })
    .optional(),
  /** Share of traces the ext_proc starts itself (0–1); a trace Envoy or the caller started keeps their decision. */
  sampleRatio: z.number().min(0).max(1).optional(),
  /** `service.name` of the ext_proc's spans. */
  serviceName: z.string().min(1).max(256).optional(),
});

export type TracingConfig = z.infer<typeof tracingSchema>;

/** What the ext_proc's tracer is started with; undefined: tracing off. */
export interface TracingSettings {
  /** OTLP/gRPC URL, `http://` or `https://`. */
  readonly url: string;
  readonly sampleRatio: number;
  readonly serviceName: string;
}

export const DEFAULT_SERVICE_NAME = 'llm-extproc';

/**
 * gateway.yaml first, then the standard OpenTelemetry variables for what it leaves out:
 * endpoint `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, then `OTEL_EXPORTER_OTLP_ENDPOINT`; service name
 * `OTEL_SERVICE_NAME`; ratio `OTEL_TRACES_SAMPLER_ARG`. No endpoint anywhere, or
 * `OTEL_SDK_DISABLED=true`: undefined (off). Throws on a ratio that is not a number in 0–1, and on
 * an endpoint parseOtlpEndpoint refuses (naming where it came from).
 */
export function resolveTracing(config: TracingConfig | undefined, env: NodeJS.ProcessEnv): TracingSettings | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  const endpoint = (config?.otlpEndpoint || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT || '').trim();
  if (endpoint === '') return undefined;
  // gateway.yaml's was checked at load; a variable's is checked here, naming it.
  try {
    parseOtlpEndpoint(endpoint);
  } catch (err) {
    const from = config?.otlpEndpoint ? 'observability.tracing.otlpEndpoint' : env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : 'OTEL_EXPORTER_OTLP_ENDPOINT';
    throw new Error(`${from}: ${(err as Error).message}`);
  }
  let sampleRatio = config?.sampleRatio;
  if (sampleRatio === undefined && env.OTEL_TRACES_SAMPLER_ARG) {
    sampleRatio = Number(env.OTEL_TRACES_SAMPLER_ARG);
    if (!(sampleRatio >= 0 && sampleRatio <= 1)) throw new Error(`OTEL_TRACES_SAMPLER_ARG "${env.OTEL_TRACES_SAMPLER_ARG}" is not a ratio between 0 and 1`);
  }
  return {
    url: endpoint.includes('://') ? endpoint : `http://${endpoint}`,
    sampleRatio: sampleRatio ?? 1,
    serviceName: config?.serviceName || env.OTEL_SERVICE_NAME || DEFAULT_SERVICE_NAME,
  };
}
