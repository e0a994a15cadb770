import { score } from './figures.ts';

/**
 * `weighted`: buf[start, end) (config order) drawn by weight (the score), without replacement:
 * each slot takes target t with probability weight(t) / Σ weights of those not yet placed, so
 * the first attempt goes to t with probability weight(t) / Σ weights. Targets of weight 0 follow
 * in config order (fallbacks only). One `random()` per placed target of positive weight.
 */
export function arrangeWeighted(buf: Int32Array, start: number, end: number, figures: Float64Array, random: () => number): void {
  for (let pos = start; pos < end - 1; pos++) {
    let total = 0;
    for (let j = pos; j < end; j++) total += score(figures, buf[j]!);
    if (!(total > 0)) return;
    let r = random() * total;
    let pick = end - 1;
    for (let j = pos; j < end; j++) {
      const w = score(figures, buf[j]!);
      if (w > 0 && r < w) {
        pick = j;
        break;
      }
      r -= w;
    }
    // float rounding can leave r ≥ the last weight: take the last positive one
    while (score(figures, buf[pick]!) <= 0) pick--;
    // shift, not swap, so the rest stays in config order
    const t = buf[pick]!;
    for (let j = pick; j > pos; j--) buf[j] = buf[j - 1]!;
    buf[pos] = t;
  }
}
