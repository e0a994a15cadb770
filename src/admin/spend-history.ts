import { InvalidRequestError } from '../errors/gateway-error.ts';
import { HOUR_MS, MAX_HISTORY_HOURS, hourOf, type SpendBucket, type SpendHistoryStore } from '../state/spend-history.ts';

export interface SpendHistoryApiOptions {
  /** The state backend's spend history: the fleet's buckets, whichever replica is asked. */
  readonly store: SpendHistoryStore;
  /** Clock, epoch ms (tests). Default Date.now. */
  readonly now?: () => number;
}

const DIMENSIONS = ['team', 'provider', 'model'] as const;
type Dimension = (typeof DIMENSIONS)[number];

/** One row of `GET /admin/spend`: an hour (and the grouped dimensions) with its amounts. */
export interface SpendRow {
  /** Start of the hour, ISO 8601 UTC. */
  hour: string;
  team?: string;
  provider?: string;
  model?: string;
  requests: number;
  tokens_in: number;
  tokens_out: number;
  tokens_cached: number;
  /** USD (the stored nano-USD / 1e9). */
  cost_usd: number;
}

/**
 * `GET /admin/spend?from=&to=&groupBy=`: the fleet's hourly spend from the state backend.
 *
 * - `from`, `to`: ISO 8601 times (`2026-11-30T00:00:00Z`, or a date); `from` is rounded down and
 *   `to` up to whole hours, hours in [from, to). Default: the last 24 hours up to the end of the
 *   current one. At most MAX_HISTORY_HOURS.
 * - `groupBy`: comma-separated `team`, `provider`, `model` (any of them); absent: one row per hour.
 *
 * Returns `{object: "gateway.spend", from, to, bucket_seconds: 3600, group_by, data: SpendRow[]
 * (by hour, then the grouped names), total}`; 400 `invalid_request_error` naming the parameter.
 * The numbers lag this replica's own last second (it writes its batch every second).
 */
export async function readSpend(opts: SpendHistoryApiOptions, query: URLSearchParams): Promise<Record<string, unknown>> {
  const now = (opts.now ?? Date.now)();
  const to = query.has('to') ? ceilHour(parseTime(query.get('to')!, 'to')) : hourOf(now) + HOUR_MS;
  const from = query.has('from') ? hourOf(parseTime(query.get('from')!, 'from')) : to - 24 * HOUR_MS;
  if (from > to) throw new InvalidRequestError('`from` is after `to`.', { param: 'from', code: 'invalid_range' });
  if ((to - from) / HOUR_MS > MAX_HISTORY_HOURS) throw new InvalidRequestError(`The range spans more than ${MAX_HISTORY_HOURS} hours.`, { param: 'from', code: 'invalid_range' });
  const groupBy = parseGroupBy(query.get('groupBy'));
  const buckets = await opts.store.readSpendHistory(from, to);
  const rows = new Map<string, SpendRow>();
  const total = { requests: 0, tokens_in: 0, tokens_out: 0, tokens_cached: 0, nano: 0 };
  const nano = new Map<string, number>();
  for (const b of buckets) {
    const key = [b.hour, ...groupBy.map((d) => b[d])].join('\u0000');
    let row = rows.get(key);
    if (!row) {
      row = { hour: new Date(b.hour).toISOString(), ...Object.fromEntries(groupBy.map((d) => [d, b[d]])), requests: 0, tokens_in: 0, tokens_out: 0, tokens_cached: 0, cost_usd: 0 };
      rows.set(key, row);
    }
    add(row, b);
    nano.set(key, (nano.get(key) ?? 0) + b.nanoUsd);
    total.requests += b.requests;
    total.tokens_in += b.tokensIn;
    total.tokens_out += b.tokensOut;
    total.tokens_cached += b.tokensCached;
    total.nano += b.nanoUsd;
  }
  // USD from the integer nano-USD sums: no float drift across buckets.
  for (const [key, row] of rows) row.cost_usd = nano.get(key)! / 1e9;
  return {
    object: 'gateway.spend',
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    bucket_seconds: HOUR_MS / 1000,
    group_by: groupBy,
    data: [...rows.values()],
    total: { requests: total.requests, tokens_in: total.tokens_in, tokens_out: total.tokens_out, tokens_cached: total.tokens_cached, cost_usd: total.nano / 1e9 },
  };
}

function add(row: SpendRow, b: SpendBucket): void {
  row.requests += b.requests;
  row.tokens_in += b.tokensIn;
  row.tokens_out += b.tokensOut;
  row.tokens_cached += b.tokensCached;
}

const ceilHour = (ms: number): number => Math.ceil(ms / HOUR_MS) * HOUR_MS;

/**
 * An ISO 8601 time or date, epoch ms. 400 `invalid_time` naming `param` and the value unless it
 * parses and every field is in range: Date.parse rolls over (2026-11-31 → Dec 1, 24:30 → the
 * next day), so the date and clock fields are checked as written.
 */
export function parseTime(raw: string, param: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?/.exec(raw);
  const ms = m ? Date.parse(raw) : NaN;
  if (!m || !Number.isFinite(ms) || !fieldsInRange(m)) {
    throw new InvalidRequestError(`\`${param}\` is not a valid ISO 8601 time: "${raw.slice(0, 40)}" (e.g. 2026-11-30 or 2026-11-30T00:00:00Z).`, { param, code: 'invalid_time' });
  }
  return ms;
}

/** Month 1–12, day within that month (leap years included), hour 0–23, minute and second 0–59. */
function fieldsInRange(m: RegExpExecArray): boolean {
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) return false;
  return m[4] === undefined || (Number(m[4]) <= 23 && Number(m[5]) <= 59 && Number(m[6] ?? 0) <= 59);
}

function parseGroupBy(raw: string | null): Dimension[] {
  if (raw === null || raw === '') return [];
  const out: Dimension[] = [];
  for (const part of raw.split(',')) {
    const d = part.trim() as Dimension;
    if (!DIMENSIONS.includes(d)) throw new InvalidRequestError(`\`groupBy\` takes ${DIMENSIONS.join(', ')} (comma-separated), not "${part.slice(0, 40)}".`, { param: 'groupBy', code: 'invalid_group_by' });
    if (!out.includes(d)) out.push(d);
  }
  return out;
}
