import type { Fault } from '../types.ts';
import { prng } from '../../lib/prng.ts';

/** Sorted, unique cut offsets strictly inside `(0, total)` for a `splitBytes` spec. */
export function splitPoints(total: number, spec: Fault['splitBytes'], seed = 1): number[] {
  if (spec === undefined || total < 2) return [];
  if (spec === 'every-byte') return Array.from({ length: total - 1 }, (_, i) => i + 1);
  let cuts: number[];
  if (spec === 'random') {
    const rand = prng(seed);
    const n = Math.min(total - 1, 2 + Math.floor(rand() * 14));
    cuts = Array.from({ length: n }, () => 1 + Math.floor(rand() * (total - 1)));
  } else {
    cuts = spec.filter((c) => Number.isInteger(c) && c > 0 && c < total);
  }
  return [...new Set(cuts)].sort((x, y) => x - y);
}
