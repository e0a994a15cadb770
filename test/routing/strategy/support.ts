import type { HealthView, TargetHealthSnapshot, TargetKey } from '../../../src/routing/health/view.ts';
import { compileRouting } from '../../../src/routing/strategy/compile.ts';
import { routingSchema } from '../../../src/routing/strategy/routing-schema.ts';
import type { OrderInput, RequestFacts, RoutingTarget } from '../../../src/routing/strategy/types.ts';
import type { Price, TokenRates } from '../../../src/pricing/types.ts';

const HEALTHY: TargetHealthSnapshot = Object.freeze({
  latencyMs: {},
  p95Ms: {},
  samples: 0,
  errorRate: 0,
  attempts: 0,
  cachedInputShare: 0,
  breaker: 'closed',
});

/** A HealthView whose snapshots the test sets; unknown targets are healthy without samples (view.ts's contract). */
export class FakeHealth implements HealthView {
  private readonly snaps = new Map<TargetKey, TargetHealthSnapshot>();
  reads = 0;
  set(key: TargetKey, s: Partial<TargetHealthSnapshot>): this {
    this.snaps.set(key, { ...HEALTHY, ...s });
    return this;
  }
  get(key: TargetKey, _nowMs: number): TargetHealthSnapshot {
    this.reads++;
    return this.snaps.get(key) ?? HEALTHY;
  }
}

/** A flat price, USD per million tokens. */
export function flatPrice(rates: Partial<TokenRates> & { input: number; output: number }): Price {
  return {
    free: false,
    source: 'test',
    periods: [{ when: { kind: 'always' }, rates: { cacheRead: undefined, cacheWrite: undefined, perRequestUsd: 0, ...rates } }],
    multipliers: [],
  };
}

/** Targets `a/m`, `b/m`, … with the given prices (default 1/1 USD per million). */
export function targetsOf(n: number, prices: Price[] = []): RoutingTarget[] {
  return Array.from({ length: n }, (_, i) => ({ key: `${'abcdefgh'[i]}/m`, price: prices[i] ?? flatPrice({ input: 1, output: 1 }) }));
}

export const T0 = Date.parse('2026-06-01T12:00:00Z');
export const JSON_REQ: RequestFacts = { stream: false, promptTokens: 1000, maxOutputTokens: 500 };
export const STREAM_REQ: RequestFacts = { stream: true, promptTokens: 1000, maxOutputTokens: 500 };

/** An OrderInput: routing from a gateway.yaml-shaped block, every target servable, no probes granted unless given. */
export function inputOf(o: {
  targets: RoutingTarget[];
  routing?: unknown;
  health?: HealthView;
  servable?: number;
  request?: RequestFacts;
  nowMs?: number;
  random?: () => number;
  tryProbe?: (key: TargetKey) => boolean;
}): OrderInput {
  const keys = o.targets.map((t) => t.key);
  return {
    targets: o.targets,
    servable: o.servable ?? (1 << o.targets.length) - 1,
    request: o.request ?? JSON_REQ,
    nowMs: o.nowMs ?? T0,
    health: o.health ?? new FakeHealth(),
    routing: compileRouting(routingSchema.parse(o.routing ?? {}), keys, 'gateway.yaml', 'models.m.routing'),
    random: o.random ?? (() => 0),
    tryProbe: o.tryProbe ?? (() => false),
  };
}
