import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { calcPrice } from '@pydantic/genai-prices';
import { estimateCosts } from '../../src/admin/cost-estimate.ts';
import { ConfigStore } from '../../src/config/store.ts';
import { GatewayError } from '../../src/errors/gateway-error.ts';
import { UNMEASURED, type TargetHealthSnapshot } from '../../src/routing/health/view.ts';
import { at, pricingConfig } from '../pricing/fixture.ts';

const cfg = pricingConfig();
const configs = new ConfigStore(cfg.file, cfg.env);
after(() => rmSync(cfg.dir, { recursive: true, force: true }));
const now = () => at('10:00:00');
const opts = { config: () => configs.current, now };

// 1,000 prompt tokens (half cached) and 500 output tokens per request, 1,000 requests a day.
const workload = { requestsPerDay: 1000, inputTokens: 1000, outputTokens: 500, cachedInputShare: 0.5 };
// night-owl's first target (gateway.yaml prices, USD per 1M): day 1 / 0.5 cached / 4 out; 22:00–06:00 0.5 / 0.5 / 2.
const DAY = (500 * 1 + 500 * 0.5 + 500 * 4) / 1e6; // 0.00275 per request
const NIGHT = (500 * 0.5 + 500 * 0.5 + 500 * 2) / 1e6; // 0.0015
const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} ≈ ${b}`);
const row = (v: ReturnType<typeof estimateCosts>, model: string, target: string) => v.data.find((r) => r.model === model && r.target === target)!;

describe('POST /admin/costs/estimate (estimateCosts)', () => {
  test('time-of-day prices applied hour by hour: night hours, day hours, and a range across the edge', () => {
    const night = row(estimateCosts(opts, { ...workload, hours: [22, 6] }), 'night-owl', 'openai-primary/gpt-4o-mini');
    close(night.monthlyUsd, 1000 * NIGHT * 30);
    assert.deepEqual(night.bands.map((b) => [b.fromHourUtc, b.toHourUtc, b.input, b.output]), [[0, 6, 0.5, 2], [22, 24, 0.5, 2]]);
    const day = row(estimateCosts(opts, { ...workload, hours: [9, 17] }), 'night-owl', 'openai-primary/gpt-4o-mini');
    close(day.monthlyUsd, 1000 * DAY * 30);
    const across = row(estimateCosts(opts, { ...workload, hourList: [21, 22] }), 'night-owl', 'openai-primary/gpt-4o-mini');
    close(across.monthlyUsd, (500 * DAY + 500 * NIGHT) * 30);
    assert.deepEqual(across.bands.map((b) => [b.fromHourUtc, b.toHourUtc]), [[21, 22], [22, 23]]);
    close(across.bands[0]!.usdPerRequest, DAY);
  });

  test('a multiplier window over catalogue prices, against genai-prices’ own price', () => {
    const r = calcPrice({ input_tokens: 1000, cache_read_tokens: 500, output_tokens: 500 }, 'gpt-4o-mini', { providerId: 'openai' })!.total_price;
    const noon = row(estimateCosts(opts, { ...workload, hourList: [12] }), 'gpt-4o-mini', 'openai-primary/gpt-4o-mini');
    close(noon.usdPerRequest, r * 0.5);
    const allDay = row(estimateCosts(opts, workload), 'gpt-4o-mini', 'openai-primary/gpt-4o-mini');
    close(allDay.monthlyUsd, 30 * 1000 * (23 * r + 0.5 * r) / 24);
  });

  test('the SLA: measured p95 where there is traffic, else configured, else unknown; ranked by monthly cost among those that meet it', () => {
    const health = () => ({
      get: (key: string): TargetHealthSnapshot => (key === 'openai-primary/gpt-4o-mini' ? { ...UNMEASURED, p95Ms: { json: 450.2 }, samples: 40 } : UNMEASURED),
    });
    const v = estimateCosts({ ...opts, health }, { ...workload, latencySlaMs: 1000 });
    const summary = v.data.map((r) => [r.rank, r.model, r.target, r.sla, r.p95Source, r.p95Ms]);
    assert.deepEqual(summary, [
      [1, 'gpt-4o-mini', 'openai-primary/gpt-4o-mini', 'met', 'measured', 451],
      [2, 'night-owl', 'openai-primary/gpt-4o-mini', 'met', 'measured', 451],
      [null, 'night-owl', 'anthropic/claude-sonnet-4-5-20250929', 'unmet', 'configured', 3000],
    ]);
    assert.ok(v.data[0]!.monthlyUsd < v.data[1]!.monthlyUsd);
    // Without traffic, the model's configured figure (800 ms) for night-owl's first target; gpt-4o-mini has none.
    const cold = estimateCosts(opts, { ...workload, latencySlaMs: 1000, stream: true });
    assert.deepEqual(cold.data.map((r) => [r.rank, r.model, r.sla, r.p95Source]), [
      [1, 'night-owl', 'met', 'configured'],
      [null, 'gpt-4o-mini', 'unknown', 'unknown'],
      [null, 'night-owl', 'unmet', 'configured'],
    ]);
    // No SLA: every row ranked by cost.
    const all = estimateCosts(opts, workload);
    assert.deepEqual(all.data.map((r) => r.rank), [1, 2, 3]);
    assert.ok(all.data.every((r, i) => i === 0 || all.data[i - 1]!.monthlyUsd <= r.monthlyUsd));
  });

  test('invalid workloads are 400s naming the field', () => {
    const refused = (body: unknown, param: string, code = 'invalid_value') =>
      assert.throws(() => estimateCosts(opts, body), (e) => e instanceof GatewayError && e.status === 400 && e.param === param && e.code === code);
    refused({ ...workload, requestsPerDay: 0 }, 'requestsPerDay');
    refused({ ...workload, cachedInputShare: 1.5 }, 'cachedInputShare');
    refused({ ...workload, hours: [5, 5] }, 'hours');
    refused({ ...workload, hours: [1, 2], hourList: [3] }, 'hourList');
    refused({ ...workload, hourList: [3, 3] }, 'hourList');
    refused({ ...workload, surprise: 1 }, 'surprise', 'unknown_parameter');
    refused({ ...workload, models: ['nope'] }, 'models.0', 'model_not_found');
  });
});
