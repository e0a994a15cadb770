import type { Logger } from '../observability/logger.ts';
import { throttledWarn } from '../observability/throttled-warn.ts';
import { scrubSecrets } from '../lib/scrub.ts';
import type { TracingSettings } from './config.ts';
import { TRACING_OFF, type GatewayTracing } from './hooks.ts';

/**
 * The ext_proc's tracing: TRACING_OFF when `settings` is undefined (no OpenTelemetry module is
 * loaded), else the SDK exporting to `settings.url` (otel-tracing.ts, imported here on demand).
 * The SDK's own warnings and export errors (a collector down) become throttled log warnings.
 * `filterKey`: the gRPC metadata key naming an ext_proc stream's filter position.
 */
export async function startTracing(settings: TracingSettings | undefined, logger: Logger, filterKey: string): Promise<GatewayTracing> {
  if (!settings) return TRACING_OFF;
  const [{ diag, DiagLogLevel }, { createOtelTracing }] = await Promise.all([import('@opentelemetry/api'), import('./otel-tracing.ts')]);
  const warn = throttledWarn(logger, 'tracing: OpenTelemetry SDK warning');
  // An export error names the collector's address: scrubbed, as every text the log takes from outside.
  // The first line only: the SDK passes errors as JSON text whose stack trace follows (escaped) newlines.
  const say = (message: string, ...args: unknown[]): void => warn({ detail: scrubSecrets([message, ...args.map(describe)].join(' ').split(/\n|\\n/)[0]!).slice(0, 300) });
  diag.setLogger({ error: say, warn: say, info: () => undefined, debug: () => undefined, verbose: () => undefined }, DiagLogLevel.WARN);
  const t = createOtelTracing(settings, filterKey);
  // The endpoint is not logged: an internal host stays out of the log.
  logger.info({ sample_ratio: settings.sampleRatio, service_name: settings.serviceName }, 'tracing on');
  return t;
}

/** One argument of an SDK diagnostic as text: an error's message only (never its stack trace). */
function describe(arg: unknown): string {
  if (typeof arg === 'string') return arg;
  const message = (arg as { message?: unknown } | null)?.message;
  if (typeof message === 'string') return message;
  const stack = (arg as { stack?: unknown } | null)?.stack;
  // An error serialized as { stack }: its first line is the message.
  if (typeof stack === 'string') return stack.split('\n')[0]!;
  return typeof arg === 'object' ? '' : String(arg);
}
