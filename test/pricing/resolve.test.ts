import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../../src/config/errors.ts';
import { costOf } from '../../src/pricing/cost.ts';
import { resolveProviderPricing, resolveTargetPrice, type TargetPricingInput } from '../../src/pricing/resolve.ts';
import { pricingSchema, type PricingConfig } from '../../src/pricing/schema.ts';

const openaiProvider = resolveProviderPricing('gw.yaml', 'openai-primary', 'openai', undefined);
const selfHosted = resolveProviderPricing('gw.yaml', 'vllm', 'openai', { free: true });

function price(over: Partial<TargetPricingInput> & { modelPricing?: unknown; targetPricing?: unknown } = {}) {
  const parse = (p: unknown) => (p === undefined ? undefined : (pricingSchema.parse(p) as PricingConfig));
  return resolveTargetPrice({
    source: 'gw.yaml',
    modelName: 'm',
    targetIndex: 0,
    providerModel: 'gpt-4o-mini',
    provider: openaiProvider,
    ...over,
    modelPricing: parse(over.modelPricing),
    targetPricing: parse(over.targetPricing),
  });
}

/** USD for 1M input tokens + 1M output tokens at an ISO time. */
const perM = (p: ReturnType<typeof price>, iso: string) => costOf(p, { promptTokens: 1_000_000, completionTokens: 1_000_000 }, Date.parse(iso)).usd;
const day = (hhmmss: string) => `2026-12-01T${hhmmss}Z`;

describe('which price a target gets', () => {
  test('the catalogue when gateway.yaml says nothing', () => {
    const p = price();
    assert.equal(p.source, 'catalogue openai/gpt-4o-mini');
    assert.equal(perM(p, day('12:00:00')), 0.75);
  });
  test('a model override beats the catalogue; a target override beats the model', () => {
    assert.equal(perM(price({ modelPricing: { input: 1, output: 2 } }), day('12:00:00')), 3);
    const p = price({ modelPricing: { input: 1, output: 2 }, targetPricing: { input: 10, output: 20 } });
    assert.equal(perM(p, day('12:00:00')), 30);
    assert.equal(p.source, 'gateway.yaml models.m.targets[0].pricing');
  });
  test('blocks are not merged: a target\'s free wins over the model\'s prices', () => {
    const p = price({ modelPricing: { input: 1, output: 2 }, targetPricing: { free: true } });
    assert.equal(p.free, true);
    assert.equal(perM(p, day('12:00:00')), 0);
  });
  test('a provider marked free: every model it serves, unless a model or target sets prices', () => {
    assert.equal(price({ provider: selfHosted, providerModel: 'llama-local' }).free, true);
    assert.equal(perM(price({ provider: selfHosted, providerModel: 'llama-local', modelPricing: { input: 1, output: 1 } }), day('00:00:00')), 2);
  });
  test('cached input and cache write override prices', () => {
    const p = price({ targetPricing: { input: 3, cachedInput: 0.3, cacheWrite: 3.75, output: 15 } });
    const c = costOf(p, { promptTokens: 1100, completionTokens: 10, cachedTokens: 1000, cacheWriteTokens: 50 }, Date.parse(day('12:00:00')));
    assert.equal(c.nanoUsd, 50 * 3000 + 1000 * 300 + 50 * 3750 + 10 * 15000);
  });
});

describe('time-of-day windows (UTC; from inclusive, to exclusive)', () => {
  test('an off-peak price that wraps midnight, at each boundary', () => {
    const p = price({ targetPricing: { input: 1, output: 3, windows: [{ from: '22:00', to: '06:00', input: 0.5, output: 1.5 }] } });
    assert.equal(perM(p, day('21:59:59')), 4, 'before the window');
    assert.equal(perM(p, day('22:00:00')), 2, 'at its start');
    assert.equal(perM(p, day('23:59:59.999')), 2);
    assert.equal(perM(p, '2026-12-02T00:00:00Z'), 2, 'at midnight');
    assert.equal(perM(p, day('05:59:59.999')), 2, 'just before its end');
    assert.equal(perM(p, day('06:00:00')), 4, 'at its end');
  });
  test('a window sets only some prices: the others keep the block\'s', () => {
    const p = price({ targetPricing: { input: 1, cachedInput: 0.5, output: 3, windows: [{ from: '09:00', to: '10:00', output: 1 }] } });
    assert.equal(perM(p, day('09:30:00')), 2);
    const cached = costOf(p, { promptTokens: 100, completionTokens: 0, cachedTokens: 100 }, Date.parse(day('09:30:00')));
    assert.equal(cached.nanoUsd, 100 * 500);
  });
  test('a multiplier over catalogue prices (half price 01:00–07:00)', () => {
    const p = price({ modelPricing: { windows: [{ from: '01:00', to: '07:00', multiplier: 0.5 }] } });
    assert.equal(p.source, 'catalogue openai/gpt-4o-mini');
    assert.equal(perM(p, day('00:59:59')), 0.75);
    assert.equal(perM(p, day('01:00:00')), 0.375);
    assert.equal(perM(p, day('07:00:00')), 0.75);
  });
  test('several windows, multipliers and prices together', () => {
    const p = price({
      targetPricing: { input: 2, output: 2, windows: [{ from: '23:00', to: '01:00', multiplier: 0.25 }, { from: '12:00', to: '13:00', input: 4, output: 4 }] },
    });
    assert.equal(perM(p, day('23:30:00')), 1);
    assert.equal(perM(p, day('00:30:00')), 1);
    assert.equal(perM(p, day('12:59:00')), 8);
    assert.equal(perM(p, day('13:00:00')), 4);
  });
});

describe('refused at config load', () => {
  test('a target with no known price names its path and what to set', () => {
    assert.throws(
      () => price({ modelName: 'local-chat', targetIndex: 1, providerModel: 'upstream-m1' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.where, 'models.local-chat.targets[1]');
        assert.equal(
          err.message,
          'gw.yaml: models.local-chat.targets[1]: no price for model "upstream-m1" of provider "openai-primary" (the genai-prices catalogue has none under "openai"): ' +
            'set pricing on the target or the model (input and output, USD per 1M tokens), pricing.providerId on providers.openai-primary if another catalogue provider prices it, or pricing: { free: true } if it costs nothing',
        );
        return true;
      },
    );
  });
  test('multiplier windows alone do not price an unknown model', () => {
    assert.throws(() => price({ providerModel: 'upstream-m1', modelPricing: { windows: [{ from: '01:00', to: '02:00', multiplier: 0.5 }] } }), ConfigError);
  });
  test('an explicit free or price makes it load', () => {
    assert.equal(price({ providerModel: 'upstream-m1', targetPricing: { free: true } }).free, true);
    assert.equal(perM(price({ providerModel: 'upstream-m1', modelPricing: { input: 1, output: 1 } }), day('00:00:00')), 2);
  });
  test('an unknown catalogue provider id', () => {
    assert.throws(
      () => resolveProviderPricing('gw.yaml', 'compat', 'openai', { providerId: 'mistrall' }),
      (err: unknown) => err instanceof ConfigError && err.where === 'providers.compat.pricing.providerId' && /"mistrall" is not a genai-prices provider id/.test(err.message),
    );
  });
  test('pricing.providerId prices an OpenAI-compatible provider from its own catalogue', () => {
    const mistral = resolveProviderPricing('gw.yaml', 'compat', 'openai', { providerId: 'mistral' });
    assert.match(price({ provider: mistral, providerModel: 'mistral-large-latest' }).source, /^catalogue mistral\//);
    assert.throws(() => price({ provider: mistral, providerModel: 'gpt-4o-mini' }), /under "mistral"/);
  });
});
