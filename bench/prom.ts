/** The gateway's own view of its cost: gateway_extproc_overhead_seconds, scraped around a slice. */

const METRIC = 'gateway_extproc_overhead_seconds';

export interface HistSnap {
  /** Cumulative counts by upper bound (seconds), ascending, +Inf last. */
  buckets: Array<[number, number]>;
  sum: number;
  count: number;
}

export function parseHistogram(text: string, name = METRIC): HistSnap | undefined {
  const buckets: Array<[number, number]> = [];
  let sum = Number.NaN;
  let count = Number.NaN;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (line.startsWith(`${name}_bucket`)) {
      const le = /le="([^"]+)"/.exec(line)?.[1];
      if (le !== undefined) buckets.push([le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), value]);
    } else if (line.startsWith(`${name}_sum`)) sum = value;
    else if (line.startsWith(`${name}_count`)) count = value;
  }
  if (!Number.isFinite(count)) return undefined;
  buckets.sort((a, b) => a[0] - b[0]);
  return { buckets, sum, count };
}

export async function scrape(url: string): Promise<HistSnap | undefined> {
  try {
    const res = await fetch(url);
    return parseHistogram(await res.text());
  } catch {
    return undefined;
  }
}

export function histDelta(a: HistSnap, b: HistSnap): HistSnap {
  return {
    buckets: b.buckets.map(([le, n], i) => [le, n - (a.buckets[i]?.[1] ?? 0)]),
    sum: b.sum - a.sum,
    count: b.count - a.count,
  };
}

export function histAdd(a: HistSnap | undefined, b: HistSnap): HistSnap {
  if (!a) return b;
  return { buckets: b.buckets.map(([le, n], i) => [le, n + (a.buckets[i]?.[1] ?? 0)]), sum: a.sum + b.sum, count: a.count + b.count };
}

/** Quantile by linear interpolation inside the bucket (Prometheus' histogram_quantile). */
function quantile(h: HistSnap, q: number): number {
  const target = q * h.count;
  let prevLe = 0;
  let prevN = 0;
  for (const [le, n] of h.buckets) {
    if (n >= target) {
      if (!Number.isFinite(le)) return prevLe;
      const inBucket = n - prevN;
      return inBucket <= 0 ? le : prevLe + ((le - prevLe) * (target - prevN)) / inBucket;
    }
    prevLe = le;
    prevN = n;
  }
  return prevLe;
}

export interface OverheadSummary {
  n: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
}

export function summarize(h: HistSnap | undefined): OverheadSummary | null {
  if (!h || h.count <= 0) return null;
  const ms = (s: number): number => Math.round(s * 1e6) / 1e3;
  return { n: h.count, meanMs: ms(h.sum / h.count), p50Ms: ms(quantile(h, 0.5)), p99Ms: ms(quantile(h, 0.99)) };
}
