import { pino, type Logger } from 'pino';
import { scrubSecrets } from '../lib/scrub.ts';

/**
 * Structured JSON logs to stdout. Request lines are built field by field from values that hold
 * no prompt text and no secrets (provider error text is scrubbed before it is kept). Header
 * objects are never logged; the one redact path below guards that rule. (Wildcard redact paths
 * cost ~2% of CPU under load in the profile, for objects the gateway never logs.)
 */
export function createLogger(
  level = process.env.LOG_LEVEL ?? 'info',
  // Asynchronous writes: a request line must not block the event loop on a slow stdout pipe.
  // Gateway.stop() flushes before exit. Tests pass an in-memory stream.
  destination: pino.DestinationStream = pino.destination({ dest: 1, sync: false }),
  /** gateway.yaml `observability.requestLog.file` (log-file.ts): the same lines, also to this stream. */
  file?: pino.DestinationStream,
): Logger {
  const out = file ? pino.multistream([{ stream: destination, level: 'trace' }, { stream: file, level: 'trace' }]) : destination;
  const logger = pino(
    {
      level,
      base: { service: 'llm-extproc' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['headers'], censor: '[redacted]' },
      serializers: { err: logError },
    },
    out,
  );
  if (file) logFiles.set(logger, file as unknown as NodeJS.WritableStream);
  return logger;
}

/** The log file each logger also writes to (createLogger's `file`), for closeLogger. */
const logFiles = new WeakMap<Logger, NodeJS.WritableStream>();

/** Flushes the logger's pending lines and closes its log file, if it has one (Gateway.stop). */
export async function closeLogger(logger: Logger): Promise<void> {
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  const file = logFiles.get(logger);
  if (file) await new Promise<void>((resolve) => file.end(() => resolve()));
}
/**
 * An error as a log field: its class, code and scrubbed message, and the same for its causes
 * (at most 3 deep). Never the stack: a log line carries no stack trace, no file paths and no
 * secrets that an error message may have picked up; the code and message say where it came from.
 */
export function logError(err: unknown, depth = 0): Record<string, unknown> | string {
  if (typeof err === 'string') return scrubSecrets(err);
  if (!(err instanceof Error)) {
    if (err === null || typeof err !== 'object') return String(err);
    // A plain context object (e.g. { upstreamStatus, kind, cause }): its primitive fields.
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(err)) {
      if (typeof v === 'number' || typeof v === 'boolean') out[k] = v;
      else if (typeof v === 'string') out[k] = scrubSecrets(v);
      else if (k === 'cause' && v !== undefined && depth < 3) out[k] = logError(v, depth + 1);
    }
    return out;
  }
  const e = err as Error & { code?: unknown; status?: unknown };
  const out: Record<string, unknown> = { type: e.name, message: scrubSecrets(e.message) };
  if (typeof e.code === 'string' || typeof e.code === 'number') out['code'] = e.code;
  if (typeof e.status === 'number') out['status'] = e.status;
  if (e.cause !== undefined && depth < 3) out['cause'] = logError(e.cause, depth + 1);
  return out;
}

export type { Logger };
