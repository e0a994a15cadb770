import { score } from './figures.ts';

/**
 * `latency`: buf[start, end) (config order) by recent latency (the score, ms; NaN without
 * samples), fastest first, with a tolerance band:
 * 1. the band: measured targets within `best × (1 + tolerance)`, in an order drawn uniformly at
 *    random per request. Equal chances, not by inverse latency: differences inside the band are
 *    what the band declares noise (a decaying average moves by that much between requests), and
 *    weighting by them would bring back the herding the band is there to stop;
 * 2. targets without samples, in config order: not known to be fast, so after the band; not
 *    known to be slow, so before slower measured ones. With no samples at all this is config
 *    order (priority), the predictable cold start. They gain samples from failovers and from the
 *    active probes (issue 9, item 7);
 * 3. the slower measured targets, fastest first (ties: config order).
 */
export function arrangeByLatency(buf: Int32Array, start: number, end: number, figures: Float64Array, tolerance: number, random: () => number): void {
  let best = Infinity;
  for (let i = start; i < end; i++) {
    const s = score(figures, buf[i]!);
    if (s < best) best = s;
  }
  if (best === Infinity) return; // no samples: config order
  const limit = best * (1 + tolerance);
  // stable insertion sort by (group, latency); unmeasured keep config order
  let bandSize = 0;
  for (let i = start; i < end; i++) if (groupOf(score(figures, buf[i]!), limit) === BAND) bandSize++;
  for (let i = start + 1; i < end; i++) {
    const t = buf[i]!;
    const s = score(figures, t);
    const g = groupOf(s, limit);
    let j = i - 1;
    while (j >= start) {
      const u = buf[j]!;
      const gu = groupOf(score(figures, u), limit);
      if (gu < g || (gu === g && (g === UNMEASURED || score(figures, u) <= s))) break;
      buf[j + 1] = u;
      j--;
    }
    buf[j + 1] = t;
  }
  // Fisher–Yates over the band
  for (let i = bandSize - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(random() * (i + 1))); // a random() of 1 must not leave the band
    const a = buf[start + i]!;
    buf[start + i] = buf[start + j]!;
    buf[start + j] = a;
  }
}

const BAND = 0;
const UNMEASURED = 1;
const SLOWER = 2;

/** NaN (no samples) compares false both ways: UNMEASURED. */
function groupOf(latencyMs: number, limit: number): number {
  return latencyMs <= limit ? BAND : latencyMs > limit ? SLOWER : UNMEASURED;
}
