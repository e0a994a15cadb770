import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { createStream, type RotatingFileStream } from 'rotating-file-stream';
import { scrubSecrets } from '../lib/scrub.ts';

/** gateway.yaml `observability.requestLog.file` (src/observability/config.ts). */
export interface LogFileSettings {
  /** The live file; rotated files are `<path>.1` (newest) … `<path>.<maxFiles>`. */
  path: string;
  /** Rotate once the live file passes this size, bytes. */
  maxBytes: number;
  /** Rotated files kept; older ones are deleted. */
  maxFiles: number;
}

/**
 * The log file as a writable stream for pino, rotated by size in logrotate's way
 * (rotating-file-stream's `rotate`: `<path>.1` is always the newest rotated file), or undefined
 * when none is configured. Writes are asynchronous and buffered by the stream; a write error
 * (disk full, the directory gone) is reported on stderr, once per error, without the path's
 * contents, and never stops the gateway: stdout keeps every line.
 */
export function requestLogFile(settings: LogFileSettings | undefined): RotatingFileStream | undefined {
  if (!settings) return undefined;
  const file = path.resolve(settings.path);
  mkdirSync(path.dirname(file), { recursive: true });
  const base = path.basename(file);
  const stream = createStream((index: number | Date | null) => (typeof index === 'number' && index > 0 ? `${base}.${index}` : base), {
    path: path.dirname(file),
    size: `${settings.maxBytes}B`,
    rotate: settings.maxFiles,
  });
  const report = (err: Error): void => void process.stderr.write(`request log file: ${scrubSecrets(err.message)}\n`);
  stream.on('error', report);
  stream.on('warning', report);
  return stream;
}
