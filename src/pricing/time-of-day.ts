/**
 * UTC time-of-day windows, as genai-prices' TimeOfDateConstraint reads them: the start is
 * inclusive, the end exclusive, and a window whose end is before its start wraps midnight
 * (22:00–06:00 holds at 23:59 and at 05:59, not at 06:00).
 */

const SECONDS_PER_DAY = 86_400;

/** "HH:MM" (UTC) → seconds after midnight. */
export function parseHhMm(text: string): number {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(text);
  if (!m) throw new Error(`not a UTC time "HH:MM": ${JSON.stringify(text)}`);
  return Number(m[1]) * 3600 + Number(m[2]) * 60;
}

/** Seconds after UTC midnight of `atMs` (ms since the epoch), fractions included. */
export function secondOfDayUtc(atMs: number): number {
  const ms = atMs % (SECONDS_PER_DAY * 1000);
  return (ms < 0 ? ms + SECONDS_PER_DAY * 1000 : ms) / 1000;
}

/** Whether second-of-day `sec` lies in [startSec, endSec), wrapping midnight when end < start. */
export function inDailyWindow(sec: number, startSec: number, endSec: number): boolean {
  return endSec < startSec ? sec >= startSec || sec < endSec : sec >= startSec && sec < endSec;
}

/**
 * The first pair of windows (indexes) that share a minute, or undefined. Windows are whole
 * minutes, so a day of 1,440 minute slots decides it exactly.
 */
export function firstOverlap(windows: readonly { startSec: number; endSec: number }[]): [number, number] | undefined {
  const owner = new Int16Array(1440).fill(-1);
  for (let i = 0; i < windows.length; i++) {
    const { startSec, endSec } = windows[i]!;
    for (let minute = 0; minute < 1440; minute++) {
      if (!inDailyWindow(minute * 60, startSec, endSec)) continue;
      const other = owner[minute]!;
      if (other !== -1) return [other, i];
      owner[minute] = i;
    }
  }
  return undefined;
}
