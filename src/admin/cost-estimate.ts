import { z } from 'zod';
import type { RuntimeConfig, RuntimeTarget } from '../config/runtime.ts';
import { InvalidRequestError } from '../errors/gateway-error.ts';
import type { HealthView } from '../routing/health/view.ts';
import { DAYS_PER_MONTH, estimateTarget, type PriceBand, type Workload } from '../pricing/estimate.ts';

/**
 * `POST /admin/costs/estimate`: what a workload would cost a month on every (public model,
 * target) the gateway has, ranked by monthly cost among those that meet the latency SLA. The
 * p95 a target is judged by: measured (routing health's p95 over its window, for the workload's
 * kind: streams' time to first token, else total time) where it has traffic, else gateway.yaml
 * `expectedLatencyMs` (target's, else model's), else unknown (never counted as meeting an SLA).
 * Prices: the table in force now, time-of-day windows applied hour by hour (src/pricing/estimate.ts).
 */

const hour = z.number().int().min(0).max(23);
export const estimateBodySchema = z
  .strictObject({
    requestsPerDay: z.number().positive().max(1e10),
    /** Prompt tokens per request, cached ones included. */
    inputTokens: z.number().int().min(0).max(10_000_000),
    outputTokens: z.number().int().min(0).max(10_000_000),
    cachedInputShare: z.number().min(0).max(1).default(0),
    /** ms; absent: every target qualifies. */
    latencySlaMs: z.number().int().min(1).max(3_600_000).optional(),
    /** Which p95 applies: streams' time to first token (true) or the whole answer's time (false). */
    stream: z.boolean().default(false),
    /** `[startHourUtc, endHourUtc]`: from start (inclusive) to end (exclusive, 1..24), wrapping midnight when end ≤ start. */
    hours: z.tuple([hour, z.number().int().min(1).max(24)]).optional(),
    /** The UTC hours as a list, e.g. [0, 1, 2, 12]. */
    hourList: z.array(hour).min(1).max(24).refine((l) => new Set(l).size === l.length, 'hours must be distinct').optional(),
    /** Only these public models (names as gateway.yaml's `models`); default every model. */
    models: z.array(z.string().min(1).max(256)).min(1).max(256).optional(),
  })
  .refine((b) => b.hours === undefined || b.hourList === undefined, { message: 'give hours or hourList, not both', path: ['hourList'] })
  .refine((b) => b.hours === undefined || b.hours[0] !== b.hours[1], { message: 'start and end are equal: use [0, 24] for the whole day', path: ['hours'] });

export type SlaStatus = 'met' | 'unmet' | 'unknown' | 'none';

export interface EstimateRow {
  /** 1.. among rows that meet the SLA (or all, without one), by monthly cost; null for the others. */
  readonly rank: number | null;
  readonly model: string;
  /** `provider/model` (src/routing/health/view.ts targetKey). */
  readonly target: string;
  readonly monthlyUsd: number;
  readonly dailyUsd: number;
  readonly usdPerRequest: number;
  readonly bands: readonly PriceBand[];
  readonly p95Ms: number | null;
  readonly p95Source: 'measured' | 'configured' | 'unknown';
  /** Samples behind a measured p95 (routing health's window). */
  readonly samples: number;
  readonly sla: SlaStatus;
  /** Where the price in force comes from (Price.source): `catalogue <provider/model>` (bundled), `price file <path>: <provider/model>` or `price URL <redacted URL>: <provider/model>` (refreshed), or the gateway.yaml path of an override. */
  readonly priceSource: string;
}

export interface CostEstimateView {
  readonly object: 'gateway.cost_estimate';
  readonly currency: 'USD';
  readonly days: number;
  readonly workload: Workload & { readonly latencySlaMs: number | null; readonly stream: boolean };
  readonly data: readonly EstimateRow[];
}

export interface CostEstimatorOptions {
  readonly config: () => RuntimeConfig;
  /** Targets' health as routing reads it now; undefined: nothing measured. */
  readonly health?: () => HealthView | undefined;
  readonly now?: () => number;
}

/** Throws InvalidRequestError (400, `param` the field) for a body the schema refuses or an unknown model. */
export function estimateCosts(opts: CostEstimatorOptions, body: unknown): CostEstimateView {
  const parsed = estimateBodySchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    // An unknown field is named, as OpenAI's `unknown_parameter` names it.
    const param = [...issue.path.map(String), ...(issue.code === 'unrecognized_keys' ? issue.keys.slice(0, 1) : [])].join('.') || null;
    throw new InvalidRequestError(`Invalid ${param ? `'${param}'` : 'request body'}: ${issue.message}.`, { param, code: issue.code === 'unrecognized_keys' ? 'unknown_parameter' : 'invalid_value' });
  }
  const b = parsed.data;
  const config = opts.config();
  const models = b.models ?? [...config.models.keys()];
  models.forEach((name, i) => {
    if (!config.models.has(name) && !config.aliases.has(name)) throw new InvalidRequestError(`Invalid 'models.${i}': no model named '${name.slice(0, 64)}'.`, { param: `models.${i}`, code: 'model_not_found' });
  });
  const workload: Workload = { requestsPerDay: b.requestsPerDay, inputTokens: b.inputTokens, outputTokens: b.outputTokens, cachedInputShare: b.cachedInputShare, hours: hoursOf(b.hours, b.hourList) };
  const nowMs = opts.now?.() ?? Date.now();
  const dayStartMs = nowMs - (nowMs % 86_400_000);
  const view = opts.health?.();
  const rows: Omit<EstimateRow, 'rank'>[] = [];
  for (const name of models) {
    const model = config.models.get(name) ?? config.aliases.get(name)!;
    for (const t of model.targets) {
      const p95 = p95Of(t, view, nowMs, b.stream);
      const est = estimateTarget(t.price, workload, dayStartMs);
      const sla: SlaStatus = b.latencySlaMs === undefined ? 'none' : p95.ms === null ? 'unknown' : p95.ms <= b.latencySlaMs ? 'met' : 'unmet';
      rows.push({ model: name, target: t.key, ...est, p95Ms: p95.ms, p95Source: p95.source, samples: p95.samples, sla, priceSource: t.price.source });
    }
  }
  const order: Record<SlaStatus, number> = { met: 0, none: 0, unknown: 1, unmet: 2 };
  rows.sort((x, y) => order[x.sla] - order[y.sla] || x.monthlyUsd - y.monthlyUsd || x.model.localeCompare(y.model) || x.target.localeCompare(y.target));
  let rank = 0;
  return {
    object: 'gateway.cost_estimate',
    currency: 'USD',
    days: DAYS_PER_MONTH,
    workload: { ...workload, latencySlaMs: b.latencySlaMs ?? null, stream: b.stream },
    data: rows.map((r) => ({ rank: order[r.sla] === 0 ? ++rank : null, ...r })),
  };
}

/** The hours a workload runs: a range (wrapping midnight), a list, or the whole day. */
function hoursOf(range: readonly [number, number] | undefined, list: readonly number[] | undefined): number[] {
  if (list) return [...list].sort((a, c) => a - c);
  if (!range) return Array.from({ length: 24 }, (_, h) => h);
  const [from, to] = range;
  const out: number[] = [];
  for (let h = from; h !== to % 24 || out.length === 0; h = (h + 1) % 24) out.push(h);
  return out.sort((a, c) => a - c);
}

function p95Of(t: RuntimeTarget, view: HealthView | undefined, nowMs: number, stream: boolean): { ms: number | null; source: EstimateRow['p95Source']; samples: number } {
  const snap = view?.get(t.key, nowMs);
  const measured = snap ? (stream ? snap.p95Ms.stream : snap.p95Ms.json) : undefined;
  if (snap && measured !== undefined) return { ms: Math.ceil(measured), source: 'measured', samples: snap.samples };
  if (t.expectedLatencyMs !== undefined) return { ms: t.expectedLatencyMs, source: 'configured', samples: 0 };
  return { ms: null, source: 'unknown', samples: 0 };
}
