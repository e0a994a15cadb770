/**
 * What per-request routing costs the handler, in-process (no Envoy): `orderTargets` +
 * `planFor` for each strategy over 4 targets, with health figures for every target and, in a
 * second row per strategy, both constraints (SLA and max price) set. Every call is one
 * request: a fresh input object, the request kind alternating stream/json, a seeded random.
 * The HealthView is a map of fixed snapshots (what LocalHealth's per-target cache serves on the
 * hot path). µs per request = the median over `batches` batches of 20,000 calls, of one
 * thread's time (performance.now around each batch, after a warm-up batch). `explain()` is
 * measured on its own: only requests that ask for an explanation pay it.
 *
 * Target (issue 9): ≤ 20 µs (0.02 ms) of handler time per request.
 * Run: `node --import tsx bench/routing-order.ts [batches]`.
 */
import { performance } from 'node:perf_hooks';
import { prng } from '../src/lib/prng.ts';
import type { Price } from '../src/pricing/types.ts';
import type { HealthView, TargetHealthSnapshot } from '../src/routing/health/view.ts';
import { compileRouting } from '../src/routing/strategy/compile.ts';
import { orderTargets } from '../src/routing/strategy/order.ts';
import { planFor } from '../src/routing/strategy/plan-cache.ts';
import { routingSchema } from '../src/routing/strategy/routing-schema.ts';
import type { OrderInput, RoutingTarget } from '../src/routing/strategy/types.ts';

const batches = Number(process.argv[2] ?? 7);
const PER_BATCH = 20_000;

const price = (input: number, output: number, cacheRead?: number): Price => ({
  free: false,
  source: 'bench',
  periods: [
    { when: { kind: 'always' }, rates: { input, output, cacheRead, cacheWrite: undefined, perRequestUsd: 0 } },
    { when: { kind: 'daily', startSec: 22 * 3600, endSec: 6 * 3600 }, rates: { input: input / 2, output: output / 2, cacheRead, cacheWrite: undefined, perRequestUsd: 0 } },
  ],
  multipliers: [],
});

const targets: RoutingTarget[] = [
  { key: 'openai/gpt-4o', price: price(2.5, 10, 1.25) },
  { key: 'azure/gpt-4o', price: price(2.5, 10, 1.25) },
  { key: 'anthropic/claude-sonnet-4-5', price: price(3, 15, 0.3) },
  { key: 'gemini/gemini-2.5-pro', price: price(1.25, 10, 0.31) },
];
const plannedTargets = Object.freeze(targets.map((_, i) => ({ provider: { cluster: `cluster-${i}` } })));

const snapshots = new Map<string, TargetHealthSnapshot>(
  targets.map((t, i) => [
    t.key,
    Object.freeze({
      latencyMs: { stream: 300 + 40 * i, json: 1800 + 150 * i },
      p95Ms: { stream: 900 + 300 * i, json: 4000 + 500 * i },
      samples: 500,
      errorRate: 0.01,
      attempts: 500,
      cachedInputShare: 0.3,
      breaker: 'closed' as const,
    }),
  ]),
);
const health: HealthView = { get: (key) => snapshots.get(key)! };

const configs: [string, unknown][] = [
  ['priority', {}],
  ['weighted', { strategy: 'weighted', weights: [4, 3, 2, 1] }],
  ['latency', { strategy: 'latency' }],
  ['cost', { strategy: 'cost' }],
  ['priority + constraints', { constraints: { latencySlaMs: 5000, maxPriceUsd: 0.05 } }],
  ['latency + constraints', { strategy: 'latency', constraints: { latencySlaMs: 5000, maxPriceUsd: 0.05 } }],
  ['cost + constraints', { strategy: 'cost', constraints: { latencySlaMs: 5000, maxPriceUsd: 0.05 } }],
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const random = prng(1);
const tryProbe = () => false;
const nowMs = Date.parse('2026-06-01T12:00:00Z');
let sink = 0;

function runBatch(routing: OrderInput['routing'], explain: boolean): number {
  const t0 = performance.now();
  for (let k = 0; k < PER_BATCH; k++) {
    const input: OrderInput = {
      targets,
      servable: 0b1111,
      request: { stream: (k & 1) === 0, promptTokens: 1200 + (k & 255), maxOutputTokens: 1024 },
      nowMs: nowMs + k,
      health,
      routing,
      random,
      tryProbe,
    };
    const d = orderTargets(input);
    sink += planFor(plannedTargets, d.order).targets.length;
    if (explain) sink += d.explain().candidates.length;
  }
  return ((performance.now() - t0) * 1000) / PER_BATCH;
}

console.log(`routing: orderTargets + planFor, 4 targets, µs per request (median of ${batches} × ${PER_BATCH.toLocaleString('en')}; node ${process.version})`);
console.log('strategy                   order+plan   with explain()');
for (const [name, block] of configs) {
  const routing = compileRouting(routingSchema.parse(block), targets.map((t) => t.key), 'bench', name);
  runBatch(routing, false);
  runBatch(routing, true);
  const plain: number[] = [];
  const explained: number[] = [];
  for (let b = 0; b < batches; b++) {
    plain.push(runBatch(routing, false));
    explained.push(runBatch(routing, true));
  }
  console.log(`${name.padEnd(26)} ${median(plain).toFixed(2).padStart(8)} µs ${median(explained).toFixed(2).padStart(10)} µs`);
}
if (sink === 0) console.log('(unreachable)');
