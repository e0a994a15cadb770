import type { Logger } from './logger.ts';

/** Request log fields the dashboard never shows or keeps: content (even where a team logs it). */
const CONTENT_FIELDS = new Set(['prompt', 'completion']);

/**
 * The last `capacity` request log lines of this replica (the `msg: "request"` lines, src/exchange/finish.ts),
 * for the dashboard's *Recent requests*: in memory, per process, newest first; gone on restart.
 * The fleet's history is the spend history (GET /admin/spend) and the log shipper's store.
 * Prompts and completions are dropped as a line is kept.
 *
 * `add` runs once per request on the request path, so it only stores the fields object (the
 * logger's own, never changed after logging) and the time; the copy the dashboard shows (an ISO
 * `time`, no undefined fields) is made by `list`, at most a few times a minute.
 */
export class RecentRequests {
  private readonly ring: Array<Readonly<Record<string, unknown>>> = [];
  private readonly times: Float64Array;
  private next = 0;

  constructor(readonly capacity = 200) {
    this.times = new Float64Array(capacity);
  }

  /** Keeps a request line's fields (without content) and when it was logged, epoch ms. */
  add(fields: Readonly<Record<string, unknown>>, atMs: number = Date.now()): void {
    const kept = fields['prompt'] === undefined && fields['completion'] === undefined ? fields : withoutContent(fields);
    if (this.ring.length < this.capacity) this.ring.push(kept);
    else this.ring[this.next] = kept;
    this.times[this.next] = atMs;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Up to `limit` lines, newest first, each with `time` (ISO 8601 UTC) first and no undefined field. */
  list(limit = this.capacity): Array<Readonly<Record<string, unknown>>> {
    const out: Array<Readonly<Record<string, unknown>>> = [];
    const n = this.ring.length;
    for (let i = 1; i <= Math.min(limit, n); i++) {
      const at = (this.next - i + n) % n;
      const line: Record<string, unknown> = { time: new Date(this.times[at]!).toISOString() };
      for (const [k, v] of Object.entries(this.ring[at]!)) if (v !== undefined) line[k] = v;
      out.push(line);
    }
    return out;
  }
}

/** A copy of a line without its prompt and completion (a team that logs content). */
function withoutContent(fields: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> {
  const kept: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) if (!CONTENT_FIELDS.has(k)) kept[k] = v;
  return kept;
}

/**
 * A logger that is `logger` in every respect, except that each `info(fields, "request")` line
 * that names a model is also kept in `recent`. Lines without one (GET /v1/models, requests refused
 * before a model was read: bad key, unknown path, Envoy's own refusals) stay in the log only: they
 * would be rows with blank columns, and a poller of /v1/models would push the model requests out
 * of the ring. Built by prototype delegation (as pino's own child loggers are), so the request
 * path keeps calling one logger and the line is written exactly as before.
 */
export function teeRequestLines(logger: Logger, recent: RecentRequests): Logger {
  const tee = Object.create(logger) as Logger;
  const info = logger.info.bind(logger) as (...args: unknown[]) => void;
  tee.info = ((...args: unknown[]): void => {
    if (args[1] === 'request' && typeof args[0] === 'object' && args[0] !== null && namesModel(args[0])) recent.add(args[0] as Record<string, unknown>);
    info(...args);
  }) as Logger['info'];
  return tee;
}

const namesModel = (fields: object): boolean => {
  const model = (fields as { model?: unknown }).model;
  return typeof model === 'string' && model !== '';
};
