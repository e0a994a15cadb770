import type { BudgetPeriod } from './budget-schema.ts';

/** One span of a budget: its id in the state layer and where it starts and ends (epoch ms, UTC). */
export interface PeriodSpan {
  /**
   * ISO 8601 names, distinct across kinds: `2026-11` (month), `2026-W48` (ISO week, its
   * week-numbering year), `2026-11-30` (day).
   */
  readonly id: string;
  readonly startMs: number;
  /** Exclusive: the first ms of the next period, which is when the budget resets. */
  readonly endMs: number;
}

const DAY_MS = 86_400_000;

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/**
 * The period `atMs` (epoch ms) falls in, in UTC: a calendar month, an ISO week (Monday 00:00 to
 * the next Monday 00:00) or a day. A request is charged to the period it was admitted in, also
 * when it settles after the period ended.
 */
export function periodAt(kind: BudgetPeriod, atMs: number): PeriodSpan {
  // Every request asks this once per budget, nearly always for the span it asked for last.
  const last = lastSpan[kind];
  if (last !== undefined && atMs >= last.startMs && atMs < last.endMs) return last;
  const span = computePeriod(kind, atMs);
  lastSpan[kind] = span;
  return span;
}

/** The span periodAt returned last, per kind (spans are immutable values). */
const lastSpan: Partial<Record<BudgetPeriod, PeriodSpan>> = {};

function computePeriod(kind: BudgetPeriod, atMs: number): PeriodSpan {
  const d = new Date(atMs);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const dayStart = Date.UTC(y, m, d.getUTCDate());
  if (kind === 'month') {
    return Object.freeze({ id: `${pad(y, 4)}-${pad(m + 1)}`, startMs: Date.UTC(y, m, 1), endMs: Date.UTC(y, m + 1, 1) });
  }
  if (kind === 'day') {
    return Object.freeze({ id: `${pad(y, 4)}-${pad(m + 1)}-${pad(d.getUTCDate())}`, startMs: dayStart, endMs: dayStart + DAY_MS });
  }
  // ISO 8601 week: starts on Monday; numbered within the year that holds its Thursday.
  const sinceMonday = (d.getUTCDay() + 6) % 7;
  const startMs = dayStart - sinceMonday * DAY_MS;
  const thursday = new Date(startMs + 3 * DAY_MS);
  const isoYear = thursday.getUTCFullYear();
  const week = Math.floor((thursday.getTime() - Date.UTC(isoYear, 0, 1)) / (7 * DAY_MS)) + 1;
  return Object.freeze({ id: `${pad(isoYear, 4)}-W${pad(week)}`, startMs, endMs: startMs + 7 * DAY_MS });
}
