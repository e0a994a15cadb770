import type { Registry } from 'prom-client';

/** One sample of a scrape, as prom-client's `getMetricsAsJSON` gives it. */
export interface Sample {
  readonly metricName?: string;
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
}

/**
 * A scrape of the registry taken once (the same values `/metrics` shows, collect callbacks run),
 * with the few aggregations the dashboard needs: sums by label and histogram quantiles.
 */
export class MetricView {
  private constructor(private readonly byName: ReadonlyMap<string, readonly Sample[]>) {}

  /** Scrapes `registry` (runs its scrape-time collectors, e.g. the budget gauges' state reads). */
  static async scrape(registry: Registry): Promise<MetricView> {
    const byName = new Map<string, Sample[]>();
    for (const m of (await registry.getMetricsAsJSON()) as Array<{ name: string; values: Sample[] }>) {
      for (const s of m.values) {
        const name = s.metricName ?? m.name;
        let list = byName.get(name);
        if (!list) byName.set(name, (list = []));
        list.push(s);
      }
    }
    return new MetricView(byName);
  }

  /** The samples of series `name` (e.g. `gateway_cost_usd_total`, `…_bucket`) whose labels include `match`. */
  samples(name: string, match: Readonly<Record<string, string>> = {}): readonly Sample[] {
    return (this.byName.get(name) ?? []).filter((s) => Object.entries(match).every(([k, v]) => String(s.labels[k]) === v));
  }

  /** Sum of `name` over the samples matching `match` (as `sum(name{match})` in PromQL). */
  sum(name: string, match: Readonly<Record<string, string>> = {}): number {
    return this.samples(name, match).reduce((acc, s) => acc + s.value, 0);
  }

  /** Sums of `name` by the value of label `by` (as `sum by (by) (name{match})`); a sample without it counts under "". */
  sumBy(name: string, by: string, match: Readonly<Record<string, string>> = {}): Map<string, number> {
    const out = new Map<string, number>();
    for (const s of this.samples(name, match)) {
      const key = String(s.labels[by] ?? '');
      out.set(key, (out.get(key) ?? 0) + s.value);
    }
    return out;
  }

  /**
   * `histogram_quantile(q, sum by (le) (<histogram>_bucket{match}))` over the counts since start,
   * with Prometheus's interpolation: linear inside the bucket the rank falls in, the lower bound
   * of the first bucket taken as 0, a rank in the +Inf bucket answered with the largest finite
   * bound. In the histogram's unit (seconds); undefined with no observations.
   */
  quantile(histogram: string, q: number, match: Readonly<Record<string, string>> = {}): number | undefined {
    const cumulative = new Map<number, number>();
    for (const s of this.samples(`${histogram}_bucket`, match)) {
      const le = s.labels['le'] === '+Inf' ? Infinity : Number(s.labels['le']);
      cumulative.set(le, (cumulative.get(le) ?? 0) + s.value);
    }
    return bucketQuantile(q, [...cumulative].sort((a, b) => a[0] - b[0]));
  }
}

/** Prometheus's bucketQuantile over sorted [upper bound, cumulative count] pairs (the last one +Inf). */
export function bucketQuantile(q: number, buckets: ReadonlyArray<readonly [number, number]>): number | undefined {
  const total = buckets.at(-1)?.[1] ?? 0;
  if (total === 0 || buckets.length < 2) return undefined;
  const rank = q * total;
  let i = buckets.findIndex(([, c]) => c >= rank);
  if (i === buckets.length - 1) return buckets[buckets.length - 2]![0];
  if (i < 0) i = buckets.length - 1;
  const [upper, count] = buckets[i]!;
  const [lower, below] = i === 0 ? [0, 0] : buckets[i - 1]!;
  if (count === below) return upper;
  return lower + ((upper - lower) * (rank - below)) / (count - below);
}
