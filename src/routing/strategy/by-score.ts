import { score } from './figures.ts';

/**
 * `cost` (and any ascending score): sorts buf[start, end) by score, lowest first; a stable
 * insertion sort (at most 8 entries), so equal scores keep config order.
 */
export function arrangeByScore(buf: Int32Array, start: number, end: number, figures: Float64Array): void {
  for (let i = start + 1; i < end; i++) {
    const t = buf[i]!;
    const s = score(figures, t);
    let j = i - 1;
    while (j >= start && score(figures, buf[j]!) > s) {
      buf[j + 1] = buf[j]!;
      j--;
    }
    buf[j + 1] = t;
  }
}
