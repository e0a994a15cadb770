/**
 * What per-request planning adds to the handler (issue 9, target ≤ 20 µs = 0.02 ms), in-process
 * (no Envoy): the whole routing call the gateway makes per request, `routeRequest`
 * (src/routing/route-request.ts: the capability mask, the strategy's order, `planFor` and
 * `withTimeouts`), on models built from gateway.yaml blocks by the config loader, each with
 * 3 targets over 3 providers and per-model timeouts, and a real LocalHealth (the per-process
 * health the gateway passes) fed with a minute of traffic per target before timing.
 *
 * Cases: priority, weighted, latency (measured health), cost (a price window whose edge the
 * clock crosses mid-run), latency and cost with both constraints, and latency with one target's
 * breaker open and one half-open (its probe in flight: every request asks and is refused).
 * Every call is one request: the request kind alternates stream/JSON, the prompt estimate
 * changes, the clock advances 0.5 ms per request (2,000 requests/s: the health snapshot is
 * recomputed once per simulated second, as in the gateway), random draws are seeded.
 *
 * µs per request = the median over `batches` batches of `perBatch` calls (performance.now
 * around each batch, after one warm-up batch), one thread, nothing else running in-process.
 * `explain()` is measured apart: only requests that ask for an explanation pay it.
 *
 * `npm run bench` runs it before starting its processes (`measureRoutePlanning`), so the
 * machine is quiet; alone: `node --import tsx bench/routing-order.ts [batches] [perBatch]`.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { buildRuntimeConfig, type RuntimeModel } from '../src/config/runtime.ts';
import { gatewayConfigSchema } from '../src/config/schema.ts';
import { prng } from '../src/lib/prng.ts';
import { chatRequestSchema, type ChatRequest } from '../src/openai/chat-request.ts';
import { healthSchema } from '../src/routing/health/breaker-schema.ts';
import { LocalHealth } from '../src/routing/health/local.ts';
import { routeRequest } from '../src/routing/route-request.ts';
import type { RoutingStrategy } from '../src/routing/strategy/routing-schema.ts';

/** The target for per-request planning, µs of handler time. */
export const PLANNING_TARGET_US = 20;

export interface RoutePlanningRow {
  /** e.g. `latency, measured health`. */
  case: string;
  strategy: RoutingStrategy;
  targets: number;
  /** routeRequest per request, µs (median of batches). */
  us: number;
  /** Half the spread of the batches, µs. */
  noiseUs: number;
  /** routeRequest + the decision's explain() (a request with `x-gateway-explain: 1`), µs. */
  usWithExplain: number;
  /** The plan's targets (`provider/model`) for a JSON request before the first and after the last timed call: what the case really routed. */
  orderAtStart: string[];
  orderAtEnd: string[];
}

export interface RoutePlanningResult {
  batches: number;
  perBatch: number;
  node: string;
  targetUs: number;
  rows: RoutePlanningRow[];
}

interface Case {
  name: string;
  routing: Record<string, unknown>;
  /** A UTC time of day the run's simulated clock is centred on, seconds (cost: its window's start). */
  midSec?: number;
  /** Breakers to set up before timing: target index → state. */
  breakers?: Record<number, 'open' | 'half-open'>;
}

const CONSTRAINTS = { latencySlaMs: 5000, maxPriceUsd: 0.05 };
const CASES: Case[] = [
  { name: 'priority', routing: {} },
  { name: 'weighted', routing: { strategy: 'weighted', weights: [3, 2, 1] } },
  { name: 'latency, measured health', routing: { strategy: 'latency' } },
  { name: 'cost, price window (crossed mid-run)', routing: { strategy: 'cost' }, midSec: 22 * 3600 },
  { name: 'latency + SLA + max price', routing: { strategy: 'latency', constraints: CONSTRAINTS } },
  { name: 'cost + SLA + max price', routing: { strategy: 'cost', constraints: CONSTRAINTS }, midSec: 22 * 3600 },
  { name: 'latency, 1 breaker open, 1 half-open', routing: { strategy: 'latency' }, breakers: { 0: 'open', 1: 'half-open' } },
];

const DAY = Date.UTC(2026, 5, 1);
const TICK_MS = 0.5;
/** Breakers made quick to open and to turn half-open, so the setup takes little simulated time. */
const HEALTH = healthSchema.parse({ breaker: { latency: { thresholdMs: 8000, consecutive: 3, openMs: 10_000 } } });

function modelFor(routing: Record<string, unknown>): RuntimeModel {
  const file = gatewayConfigSchema.parse({
    providers: { openai: { dialect: 'openai', apiKeyEnv: 'K' }, anthropic: { dialect: 'anthropic', apiKeyEnv: 'K' }, gemini: { dialect: 'gemini', apiKeyEnv: 'K' } },
    models: {
      m: {
        targets: [
          { provider: 'openai', model: 'gpt-4o', pricing: { input: 2.5, cachedInput: 1.25, output: 10 } },
          { provider: 'anthropic', model: 'claude-sonnet-4-5', pricing: { input: 3, cachedInput: 0.3, output: 15 } },
          // Dearest by day, cheapest from 22:00 UTC (a quarter of the price): the cost order flips mid-run.
          { provider: 'gemini', model: 'gemini-2.5-pro', pricing: { input: 4, output: 20, windows: [{ from: '22:00', to: '06:00', multiplier: 0.25 }] } },
        ],
        routing,
        timeouts: { firstByteMs: 20_000, totalMs: 120_000 },
      },
    },
    keys: [{ name: 'bench', fromEnv: 'K' }],
  });
  return buildRuntimeConfig(file, 'bench-routing.yaml', { K: 'bench' }, 1).models.get('m')!;
}

/** A LocalHealth with a minute of answers per target ending at `nowMs`, and the case's breakers. */
function healthFor(model: RuntimeModel, c: Case, nowMs: number): LocalHealth {
  const h = new LocalHealth({ config: HEALTH });
  const start = nowMs - 60_000;
  model.targets.forEach((t, i) => {
    for (let k = 0; k < 200; k++) {
      const stream = (k & 1) === 0;
      const atMs = start + k * 250 + i;
      const base = stream ? 300 + 60 * i : 1500 + 200 * i;
      const ms = base + ((k * 37) % 200);
      h.record({ key: t.key, stream, atMs, ttftMs: stream ? ms : undefined, totalMs: stream ? ms + 800 : ms, result: 'ok', promptTokens: 1000, cachedTokens: 200 });
    }
  });
  for (const [index, state] of Object.entries(c.breakers ?? {})) {
    const key = model.targets[Number(index)]!.key;
    // 3 slow answers in a row open the latency breaker (HEALTH: 8 s, 3, open 10 s).
    const openAt = state === 'open' ? nowMs - 1000 : nowMs - 11_000;
    for (let k = 0; k < 3; k++) h.record({ key, stream: false, atMs: openAt + k, totalMs: 9000, result: 'ok' });
    // Half-open: the first caller takes the probe; it stays in flight, so every request after asks in vain.
    if (state === 'half-open' && (h.get(key, nowMs).breaker !== 'half-open' || !h.tryProbe(key, nowMs))) throw new Error(`bench: ${key} did not turn half-open`);
  }
  return h;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Measures routeRequest per case; takes ~(batches + 1) × 2 × perBatch calls per case (~1 s per case at the defaults). */
export function measureRoutePlanning(opts: { batches?: number; perBatch?: number } = {}): RoutePlanningResult {
  const batches = Math.max(1, opts.batches ?? 7);
  const perBatch = Math.max(100, opts.perBatch ?? 20_000);
  const messages = [{ role: 'user', content: 'Summarize the attached report in three bullet points.' }];
  const requests: ChatRequest[] = [
    chatRequestSchema.parse({ model: 'm', messages, stream: true, max_tokens: 1024 }),
    chatRequestSchema.parse({ model: 'm', messages, max_tokens: 1024 }),
  ];
  let sink = 0;
  const runs = CASES.map((c) => {
    const model = modelFor(c.routing);
    // The clock runs (batches + 1) × 2 × perBatch ticks; the case's time of day is its midpoint.
    let nowMs = DAY + (c.midSec ?? 12 * 3600) * 1000 - ((batches + 1) * 2 * perBatch * TICK_MS) / 2;
    const health = healthFor(model, c, nowMs);
    const random = prng(1);
    const orderNow = (): string[] => routeRequest(model, requests[1]!, 1200, { health, nowMs, random }).plan?.targets.map((i) => model.targets[i]!.key) ?? [];
    const batch = (explain: boolean): number => {
      const t0 = performance.now();
      for (let k = 0; k < perBatch; k++) {
        nowMs += TICK_MS;
        const routed = routeRequest(model, requests[k & 1]!, 1200 + (k & 255), { health, nowMs, random });
        sink += routed.plan === undefined ? 0 : routed.plan.targets.length;
        if (explain) sink += routed.decision.explain().candidates.length;
      }
      return ((performance.now() - t0) * 1000) / perBatch;
    };
    return { c, model, orderNow, batch, orderAtStart: orderNow(), plain: [] as number[], explained: [] as number[] };
  });
  // Warm-up of every case first, then rounds that visit every case in turn, so drift hits all alike.
  for (const r of runs) {
    r.batch(false);
    r.batch(true);
  }
  for (let b = 0; b < batches; b++) {
    for (const r of runs) {
      r.plain.push(r.batch(false));
      r.explained.push(r.batch(true));
    }
  }
  const r3 = (x: number): number => Math.round(x * 1000) / 1000;
  const rows: RoutePlanningRow[] = runs.map((r) => ({
    case: r.c.name,
    strategy: r.model.routing.strategy,
    targets: r.model.targets.length,
    us: r3(median(r.plain)),
    noiseUs: r3(r.plain.length > 1 ? (Math.max(...r.plain) - Math.min(...r.plain)) / 2 : Number.NaN),
    usWithExplain: r3(median(r.explained)),
    orderAtStart: r.orderAtStart,
    orderAtEnd: r.orderNow(),
  }));
  if (sink === 0) throw new Error('bench: no plan was made');
  return { batches, perBatch, node: process.version, targetUs: PLANNING_TARGET_US, rows };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const res = measureRoutePlanning({ batches: process.argv[2] ? Number(process.argv[2]) : undefined, perBatch: process.argv[3] ? Number(process.argv[3]) : undefined });
  console.log(`routeRequest, 3 targets, µs per request (median of ${res.batches} × ${res.perBatch.toLocaleString('en')}; node ${res.node}; target ≤ ${res.targetUs} µs)`);
  console.log(`${'case'.padEnd(40)} ${'plan'.padStart(10)} ${'± batches'.padStart(10)} ${'with explain()'.padStart(15)}`);
  for (const r of res.rows) {
    const order = r.orderAtStart.join(' > ') + (r.orderAtEnd.join() === r.orderAtStart.join() ? '' : ` → ${r.orderAtEnd.join(' > ')}`);
    console.log(`${r.case.padEnd(40)} ${r.us.toFixed(2).padStart(7)} µs ${r.noiseUs.toFixed(2).padStart(7)} µs ${r.usWithExplain.toFixed(2).padStart(12)} µs   ${order}`);
  }
}
