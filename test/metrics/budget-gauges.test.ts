import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GatewayMetrics } from '../../src/metrics/metrics.ts';
import { StateUnavailableError } from '../../src/state/errors.ts';
import type { RuntimeConfig } from '../../src/config/runtime.ts';
import type { StateStore } from '../../src/state/store.ts';

/** gateway_budget_spent_usd's samples as {team: value} from a scrape. */
async function spentByTeam(m: GatewayMetrics): Promise<Record<string, number>> {
  const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === 'gateway_budget_spent_usd')!;
  return Object.fromEntries(metric.values.map((v) => [String(v.labels['team']), v.value]));
}

describe('gateway_budget_spent_usd through a state backend outage', () => {
  it('keeps the last figure read (stale, not silent), then follows the backend again', async () => {
    const backend = { down: false, spentNano: { research: 900_000_000, ops: 100_000_000 } as Record<string, number> };
    const m = new GatewayMetrics();
    m.sources = {
      config: () => ({
        models: new Map(),
        aliases: new Map(),
        budgets: { rules: [
          { scope: 'team', subject: 'team:research', period: 'month', limitNanoUsd: 1e9 },
          { scope: 'team', subject: 'team:ops', period: 'month', limitNanoUsd: 1e9 },
        ] },
      }) as unknown as RuntimeConfig,
      state: {
        backend: 'redis',
        isReady: () => !backend.down,
        spent: async (team: string) => {
          if (backend.down) throw new StateUnavailableError('redis', 'spent', new Error('connection closed'));
          return backend.spentNano[team]!;
        },
      } as unknown as StateStore,
    };
    assert.deepEqual(await spentByTeam(m), { research: 0.9, ops: 0.1 });
    backend.down = true;
    assert.deepEqual(await spentByTeam(m), { research: 0.9, ops: 0.1 }, 'the last figures, so the budget alert keeps firing');
    assert.deepEqual(await spentByTeam(m), { research: 0.9, ops: 0.1 }, 'scrape after scrape');
    const text = await m.registry.metrics();
    assert.match(text, /gateway_budget_limit_usd\{team="research",period="month"\} 1/);
    assert.match(text, /gateway_redis_up\{mode="single"\} 0/, 'the outage itself shows');
    backend.down = false;
    backend.spentNano.research = 950_000_000;
    assert.deepEqual(await spentByTeam(m), { research: 0.95, ops: 0.1 });
  });

  it('has no spent series for a budget never read (nothing to go stale)', async () => {
    const m = new GatewayMetrics();
    m.sources = {
      config: () => ({ models: new Map(), aliases: new Map(), budgets: { rules: [{ scope: 'team', subject: 'team:research', period: 'day', limitNanoUsd: 1e9 }] } }) as unknown as RuntimeConfig,
      state: { backend: 'redis', isReady: () => false, spent: async () => { throw new StateUnavailableError('redis', 'spent', new Error('down')); } } as unknown as StateStore,
    };
    assert.deepEqual(await spentByTeam(m), {});
  });
});
