import { buildRuntimeConfig, type RuntimeConfig } from '../../../src/config/runtime.ts';
import { gatewayConfigSchema } from '../../../src/config/schema.ts';
import { Exchange } from '../../../src/exchange/exchange.ts';
import { chatRequestSchema } from '../../../src/openai/chat-request.ts';
import type { Settlement } from '../../../src/policy/settlement.ts';
import type { TargetHealth } from '../../../src/routing/health/target-health.ts';
import type { TargetHealthSnapshot } from '../../../src/routing/health/view.ts';
import type { WaitClock } from '../../../src/routing/limits/exhausted-wait.ts';
import { exchangeProviderLimitOutcome, exchangeProviderLimitView } from '../../../src/routing/limits/provider-limit-exchange.ts';
import { providerLimitStep } from '../../../src/routing/limits/provider-limit-step.ts';
import { routeExchange } from '../../../src/routing/route-request.ts';
import { EmbeddedStateStore } from '../../../src/state/embedded/store.ts';

/** An instant on a whole minute, so window resets read as round figures. */
export const T0 = 1_760_000_040_000;

/** Providers a and b (OpenAI-compatible), model `m` over a/x then b/x (priority), `limits` per provider. */
export function limitsConfig(limits: { a?: unknown; b?: unknown } = {}, rateLimited: Record<string, unknown> = {}): RuntimeConfig {
  const provider = (l: unknown) => ({ dialect: 'openai', apiKeyEnv: 'K', ...(l ? { limits: l } : {}) });
  const file = gatewayConfigSchema.parse({
    providers: { a: provider(limits.a), b: provider(limits.b) },
    models: { m: { pricing: { free: true }, targets: [{ provider: 'a', model: 'x' }, { provider: 'b', model: 'x' }] } },
    keys: [{ name: 'k', fromEnv: 'K' }],
    routing: { health: { rateLimited } },
  });
  return buildRuntimeConfig(file, 'test.yaml', { K: 'secret' }, 1);
}

/** A health view with settable cool-downs by target key (epoch ms). */
export function coolingHealth(): TargetHealth & { cooling: Record<string, number> } {
  const cooling: Record<string, number> = {};
  const base: TargetHealthSnapshot = { latencyMs: {}, p95Ms: {}, samples: 0, errorRate: 0, attempts: 0, cachedInputShare: 0, breaker: 'closed' };
  return {
    cooling,
    get: (key) => (cooling[key] !== undefined ? { ...base, coolingUntilMs: cooling[key] } : base),
    record: () => undefined,
    tryProbe: () => true,
    releaseProbe: () => undefined,
  };
}

/** A fake clock: sleeping advances it; `onSleep` runs after each sleep (to change the world meanwhile). */
export function fakeClock(start = T0): WaitClock & { t: number; sleeps: number[]; onSleep?: () => void } {
  const c = {
    t: start,
    sleeps: [] as number[],
    onSleep: undefined as undefined | (() => void),
    now: () => c.t,
    random: () => 0.5,
    sleep: async (ms: number, signal: AbortSignal | undefined) => {
      if (signal?.aborted) throw signal.reason;
      c.sleeps.push(ms);
      c.t += ms;
      c.onSleep?.();
      if (signal?.aborted) throw signal.reason;
    },
  };
  return c;
}

/** The step over the real Exchange glue, an embedded store and health on the fake clock. */
export function harness(config: RuntimeConfig) {
  const clock = fakeClock();
  const health = coolingHealth();
  const store = new EmbeddedStateStore({ sqlitePath: ':memory:', now: () => clock.t });
  const errors: string[] = [];
  const step = providerLimitStep<Exchange>({
    store,
    health: () => health,
    view: exchangeProviderLimitView(() => health, () => clock.t),
    outcome: exchangeProviderLimitOutcome,
    clock,
    onStateError: (e) => errors.push(e.operation),
  });
  /** A routed request for `m` (`max_tokens` 100), as the router has it before the policy steps. */
  const exchange = (content = 'Hello there'): Exchange => {
    const ex = new Exchange(config, undefined);
    ex.request = chatRequestSchema.parse({ model: 'm', messages: [{ role: 'user', content }], max_tokens: 100 });
    ex.model = config.models.get('m')!;
    routeExchange(ex, health, clock.t);
    return ex;
  };
  /** Marks `ex` as answered 200 by target `index` (attempt records as the router keeps them). */
  const answeredBy = (ex: Exchange, ...indexes: number[]): void => {
    indexes.forEach((i, n) => {
      const t = ex.model!.targets[i]!;
      ex.attempts.push({ provider: t.provider, providerModel: t.model, number: n + 1, key: t.key, startedAtMs: 0 });
    });
    ex.lastAttempt!.status = 200;
  };
  const settlement = (promptTokens: number, completionTokens: number): Settlement => ({
    outcome: 'completed',
    usage: { promptTokens, completionTokens },
    estimated: false,
    costNanoUsd: 0,
    cacheHit: false,
  });
  return { clock, health, store, step, exchange, answeredBy, settlement, errors };
}

/** The target keys of `ex`'s plan, in attempt order. */
export const planKeys = (ex: Exchange): string[] => ex.plan!.targets.map((i) => ex.model!.targets[i]!.key);
