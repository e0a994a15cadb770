import { HISTOGRAM_BUCKETS, quantileMs } from '../histogram.ts';
import { SUB_WINDOWS } from '../window.ts';

/** The fleet's figures for one target, merged from Redis at a sync (all replicas' flushed samples). */
export interface FleetFigures {
  /** Attempts and errors of the breaker's current generation in the window. */
  readonly attempts: number;
  readonly errors: number;
  readonly promptTokens: number;
  readonly cachedTokens: number;
  /** Latency samples (both kinds) in the window. */
  readonly samples: number;
  /** Time-decayed mean latency per kind, ms (window.ts `decayedLatencyMs`). */
  readonly latencyMs: { readonly stream?: number; readonly json?: number };
  /** p95 per kind over the window, ms (histogram.ts's bound). */
  readonly p95Ms: { readonly stream?: number; readonly json?: number };
}

/**
 * Merges the fleet's sub-window hashes (keys.ts `hw:`) of one target into its figures, the way
 * HealthWindow reads its own (window.ts): counts add up, the p95 comes from the summed
 * histogram, the recent latency weighs sub-window b by 2^(−(current − b)·subWindowMs / halfLifeMs).
 * `hashes[i]` is sub-window `firstSub + i` (HGETALL's reply: `{}` when absent); attempts and
 * errors are read under `gen` only (those of an earlier generation came before the breaker
 * last closed). Fields it does not know are ignored.
 */
export function mergeWindow(hashes: ReadonlyArray<Readonly<Record<string, string>> | null | undefined>, firstSub: number, currentSub: number, gen: string, subWindowMs: number, halfLifeMs: number): FleetFigures {
  const aField = `a.${gen}`;
  const eField = `e.${gen}`;
  let attempts = 0;
  let errors = 0;
  let promptTokens = 0;
  let cachedTokens = 0;
  const hist = new Float64Array(2 * HISTOGRAM_BUCKETS);
  const n = [0, 0];
  const num = [0, 0];
  const den = [0, 0];
  for (let i = 0; i < hashes.length; i++) {
    const h = hashes[i];
    if (h === null || h === undefined) continue;
    const age = currentSub - (firstSub + i);
    if (age < 0 || age >= SUB_WINDOWS) continue;
    const w = 2 ** (-(age * subWindowMs) / halfLifeMs);
    for (const field in h) {
      const v = Number(h[field]);
      if (!Number.isFinite(v)) continue;
      if (field === aField) attempts += v;
      else if (field === eField) errors += v;
      else if (field === 'pt') promptTokens += v;
      else if (field === 'ct') cachedTokens += v;
      else if (field.length === 2 && (field[0] === 'n' || field[0] === 's')) {
        const k = field[1] === '0' ? 0 : field[1] === '1' ? 1 : -1;
        if (k < 0) continue;
        if (field[0] === 'n') { n[k]! += v; den[k]! += w * v; } else num[k]! += w * v;
      } else if (field[0] === 'h' && field[2] === '.') {
        const k = field[1] === '0' ? 0 : field[1] === '1' ? 1 : -1;
        const bucket = Number(field.slice(3));
        if (k >= 0 && Number.isInteger(bucket) && bucket >= 0 && bucket < HISTOGRAM_BUCKETS) hist[k * HISTOGRAM_BUCKETS + bucket]! += v;
      }
    }
  }
  const latencyMs: { stream?: number; json?: number } = {};
  const p95Ms: { stream?: number; json?: number } = {};
  for (let k = 0; k < 2; k++) {
    const name = k === 0 ? 'stream' : 'json';
    if (den[k]! > 0) latencyMs[name] = num[k]! / den[k]!;
    const q = quantileMs(hist, k * HISTOGRAM_BUCKETS, n[k]!, 0.95);
    if (q !== undefined) p95Ms[name] = q;
  }
  return Object.freeze({ attempts, errors, promptTokens, cachedTokens, samples: n[0]! + n[1]!, latencyMs: Object.freeze(latencyMs), p95Ms: Object.freeze(p95Ms) });
}
