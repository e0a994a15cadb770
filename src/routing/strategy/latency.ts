import { score } from './figures.ts';

/**
 * `latency`: buf[start, end) (config order) by recent latency (the score, ms; NaN without
 * samples), fastest first, with a tolerance band:
 * 1. the band: measured targets within `best × (1 + tolerance)`, and targets without samples, in
 *    an order drawn uniformly at random per request. Equal chances, not by inverse latency:
 *    differences inside the band are what the band declares noise (a decaying average moves by
 *    that much between requests), and weighting by them would bring back the herding the band is
 *    there to stop. Unmeasured targets are in the band so that real traffic measures them: put
 *    after it, a target nobody has measured would never be tried first and stay unmeasured for
 *    as long as the measured ones answer (a new user saw `chat-fastest` never leave its first
 *    target). With no samples at all, every target shares the load until measured;
 * 2. the slower measured targets, fastest first (ties: config order).
 */
export function arrangeByLatency(buf: Int32Array, start: number, end: number, figures: Float64Array, tolerance: number, random: () => number): void {
  let best = Infinity;
  for (let i = start; i < end; i++) {
    const s = score(figures, buf[i]!);
    if (s < best) best = s;
  }
  const limit = best * (1 + tolerance); // Infinity with no samples: every target in the band
  // stable insertion sort: the band (config order, shuffled below), then slower ones by latency
  let bandSize = 0;
  for (let i = start; i < end; i++) if (inBand(score(figures, buf[i]!), limit)) bandSize++;
  for (let i = start + 1; i < end; i++) {
    const t = buf[i]!;
    const s = score(figures, t);
    const band = inBand(s, limit);
    let j = i - 1;
    while (j >= start) {
      const u = buf[j]!;
      const su = score(figures, u);
      if (inBand(su, limit) ? true : !band && su <= s) break;
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

/** In the band: within the limit, or unmeasured (NaN: no samples). */
function inBand(latencyMs: number, limit: number): boolean {
  return !(latencyMs > limit);
}
