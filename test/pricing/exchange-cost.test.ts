import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { loadConfigFile } from '../../src/config/loader.ts';
import { Exchange } from '../../src/exchange/exchange.ts';
import { finishExchange } from '../../src/exchange/finish.ts';
import { costOfExchange } from '../../src/pricing/exchange-cost.ts';
import { scratchDir, smallConfig } from '../support/unit/config.ts';
import { memorySinks } from '../support/unit/sinks.ts';

const scratch = scratchDir();
after(() => scratch.cleanup());

// A model whose first target is free (self-hosted) and whose fallback is paid, as in LiteLLM #41344.
const config = loadConfigFile(
  scratch.write(
    'gateway.yaml',
    smallConfig({
      providers: 'providers:\n  local: { dialect: openai, pricing: { free: true } }\n  paid: { dialect: openai }\n',
      models: [
        'models:',
        '  m:',
        '    targets:',
        '      - { provider: local, model: llama-local }',
        '      - { provider: paid, model: gpt-4o-mini, pricing: { input: 2, output: 4, windows: [{ from: "22:00", to: "06:00", multiplier: 0.5 }] } }',
        '',
      ].join('\n'),
    }),
  ),
  {},
  1,
);

function exchange(attempts: number, created: string): Exchange {
  const ex = new Exchange(config, undefined);
  ex.model = config.models.get('m')!;
  for (let n = 1; n <= attempts; n++) ex.attempts.push({ provider: ex.model.targets[n - 1]!.provider, providerModel: ex.model.targets[n - 1]!.model, number: n, key: ex.model.targets[n - 1]!.key, startedAtMs: 0 });
  ex.status = 200;
  ex.usage = { promptTokens: 1000, completionTokens: 500 };
  // created is the request's start in whole seconds (what the caller's `created` says too)
  (ex as { created: number }).created = Date.parse(created) / 1000;
  return ex;
}

describe('the cost of a request', () => {
  test('priced at the target that served: the free first target costs 0', () => {
    assert.deepEqual(costOfExchange(exchange(1, '2026-12-01T12:00:00Z')), { usd: 0, nanoUsd: 0 });
  });
  test('a failover to a paid target is charged at its price, at the time the request started', () => {
    assert.equal(costOfExchange(exchange(2, '2026-12-01T12:00:00Z'))!.nanoUsd, 1000 * 2000 + 500 * 4000);
    assert.equal(costOfExchange(exchange(2, '2026-12-01T23:00:00Z'))!.nanoUsd, (1000 * 2000 + 500 * 4000) / 2, 'off-peak');
  });
  test('none without usage, without an attempt, or for Envoy\'s own reply', () => {
    const noUsage = exchange(2, '2026-12-01T12:00:00Z');
    noUsage.usage = undefined;
    assert.equal(costOfExchange(noUsage), undefined);
    assert.equal(costOfExchange(exchange(0, '2026-12-01T12:00:00Z')), undefined);
    const envoy = exchange(2, '2026-12-01T12:00:00Z');
    envoy.envoyLocalReply = true;
    assert.equal(costOfExchange(envoy), undefined);
  });
  test('the request log line has cost_usd and gateway_cost_usd_total counts it by model and provider', async () => {
    const { sinks, lines } = memorySinks();
    finishExchange(exchange(2, '2026-12-01T12:00:00Z'), 'completed', sinks);
    finishExchange(exchange(2, '2026-12-01T12:00:00Z'), 'completed', sinks);
    finishExchange(exchange(1, '2026-12-01T12:00:00Z'), 'completed', sinks);
    assert.deepEqual(lines().map((l) => [l['provider'], l['cost_usd']]), [['paid', 0.004], ['paid', 0.004], ['local', 0]]);
    const cost = await sinks.metrics.cost.get();
    // no caller in this test: team '' (Prometheus reads an empty label as absent)
    assert.deepEqual(cost.values.map((v) => [v.labels, v.value]), [[{ model: 'm', provider: 'paid', team: '' }, 0.008], [{ model: 'm', provider: 'local', team: '' }, 0]]);
  });
  test('no cost_usd on a line without usage', () => {
    const { sinks, lines } = memorySinks();
    const ex = exchange(1, '2026-12-01T12:00:00Z');
    ex.usage = undefined;
    finishExchange(ex, 'failed', sinks);
    assert.equal('cost_usd' in lines()[0]!, false);
  });
});

test('config load refuses a target without a price, naming the file, the line and the path', () => {
  const file = scratch.write('unpriced.yaml', smallConfig({ models: 'models:\n  m:\n    targets:\n      - { provider: p1, model: gpt-4o-mini }\n      - { provider: p1, model: my-finetune }\n', providers: 'providers:\n  p1: { dialect: openai }\n' }));
  assert.throws(() => loadConfigFile(file, {}, 1), (err: unknown) => {
    assert.match(String((err as Error).message), new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:7: models\\.m\\.targets\\[1\\]: no price for model "my-finetune" of provider "p1"`));
    return true;
  });
});

test('a malformed pricing block is refused at load with its path in the file', () => {
  const file = scratch.write('bad-pricing.yaml', smallConfig({ models: 'models:\n  m:\n    targets:\n      - { provider: p1, model: x, pricing: { input: 1, windows: [{ from: "22:00", to: "06:00", multiplier: 0.5 }] } }\n' }));
  assert.throws(() => loadConfigFile(file, {}, 1), (err: unknown) => {
    // line 6: the target's line (the missing `output` key's nearest present parent)
    assert.equal((err as Error).message, `${file}:6: models.m.targets[0].pricing.output: an override price needs both input and output (USD per 1M tokens)`);
    return true;
  });
});
