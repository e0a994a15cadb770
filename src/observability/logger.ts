import { pino, type Logger } from 'pino';

/**
 * Structured JSON logs to stdout. Request lines carry no prompt text and no secrets; the
 * redact paths are a second line of defence for anything that might be logged by mistake.
 */
export function createLogger(level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino(
    {
      level,
      base: { service: 'llm-extproc' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['*.authorization', '*.apiKey', '*.api_key', '*["x-api-key"]', '*["x-goog-api-key"]', 'headers'], censor: '[redacted]' },
    },
    // Asynchronous writes: a request line must not block the event loop on a slow stdout pipe.
    // Gateway.stop() flushes before exit.
    pino.destination({ dest: 1, sync: false }),
  );
}
export type { Logger };
