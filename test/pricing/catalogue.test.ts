import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { calcPrice, findProvider } from '@pydantic/genai-prices';
import { catalogueProviderId, lookupCatalogue } from '../../src/pricing/catalogue.ts';
import { costOf } from '../../src/pricing/cost.ts';
import type { Price } from '../../src/pricing/types.ts';

function catalogued(providerId: string, model: string): Price {
  const entry = lookupCatalogue(providerId, model);
  assert.ok(entry, `${providerId}/${model} is in the catalogue`);
  return { free: false, source: entry.id, periods: entry.periods, multipliers: [] };
}

const at = (iso: string) => Date.parse(iso);

describe('which catalogue provider prices a gateway provider', () => {
  test('by dialect when the name is not a catalogue id: openai → openai, anthropic → anthropic, gemini → google', () => {
    assert.equal(catalogueProviderId('openai-primary', 'openai', undefined), 'openai');
    assert.equal(catalogueProviderId('claude', 'anthropic', undefined), 'anthropic');
    assert.equal(catalogueProviderId('gemini', 'gemini', undefined), 'google');
  });
  test('by its own name when that is a catalogue id (OpenAI-compatible providers)', () => {
    assert.equal(catalogueProviderId('deepseek', 'openai', undefined), 'deepseek');
    assert.equal(catalogueProviderId('mistral', 'openai', undefined), 'mistral');
    assert.equal(catalogueProviderId('groq', 'openai', undefined), 'groq');
  });
  test('pricing.providerId wins over name and dialect', () => {
    assert.equal(catalogueProviderId('my-llama-host', 'openai', 'together'), 'together');
  });
});

describe('catalogue lookup', () => {
  test('the demo models are priced, dated names included', () => {
    assert.equal(lookupCatalogue('openai', 'gpt-4o-mini')?.id, 'openai/gpt-4o-mini');
    assert.equal(lookupCatalogue('anthropic', 'claude-sonnet-4-5-20250929')?.id, 'anthropic/claude-sonnet-4-5');
    assert.equal(lookupCatalogue('google', 'gemini-2.5-flash')?.id, 'google/gemini-2.5-flash');
  });
  test('an unknown model or provider has no price', () => {
    assert.equal(lookupCatalogue('openai', 'upstream-m1'), undefined);
    assert.equal(lookupCatalogue('no-such-provider', 'gpt-4o-mini'), undefined);
  });
  test('gpt-4o-mini: $0.15 input, $0.075 cached input, $0.60 output per 1M tokens', () => {
    const cost = costOf(catalogued('openai', 'gpt-4o-mini'), { promptTokens: 1_000_000, cachedTokens: 400_000, completionTokens: 1_000_000 }, at('2026-01-01T00:00:00Z'));
    assert.equal(cost.nanoUsd, 600_000 * 150 + 400_000 * 75 + 1_000_000 * 600);
  });
  test('tiered rates: Claude Sonnet 4.5 above 200,000 prompt tokens costs the long-context rate for every token', () => {
    const p = catalogued('anthropic', 'claude-sonnet-4-5');
    const t = at('2026-01-01T00:00:00Z');
    assert.equal(costOf(p, { promptTokens: 200_000, completionTokens: 0 }, t).nanoUsd, 200_000 * 3_000, '$3/M at the threshold');
    assert.equal(costOf(p, { promptTokens: 200_001, completionTokens: 1000 }, t).nanoUsd, 200_001 * 6_000 + 1000 * 22_500, '$6/M and $22.50/M above it');
  });
  test('time-of-day prices: DeepSeek chat, peak 00:30–16:30 UTC (start inclusive, end exclusive)', () => {
    const p = catalogued('deepseek', 'deepseek-chat');
    const usage = { promptTokens: 1_000_000, completionTokens: 0 };
    const lib = (iso: string) => calcPrice({ input_tokens: 1_000_000, output_tokens: 0 }, 'deepseek-chat', { providerId: 'deepseek', timestamp: new Date(iso) })!.total_price;
    for (const iso of ['2026-01-05T00:29:59Z', '2026-01-05T00:30:00Z', '2026-01-05T16:29:59Z', '2026-01-05T16:30:00Z']) {
      assert.equal(costOf(p, usage, at(iso)).usd, lib(iso), iso);
    }
    assert.ok(costOf(p, usage, at('2026-01-05T00:30:00Z')).usd > costOf(p, usage, at('2026-01-05T00:29:59Z')).usd, 'peak is dearer');
  });
});

/**
 * The compiled prices give what genai-prices' own calcPrice gives, for every model of the
 * providers the gateway maps, at times around every start date and daily window in the data.
 */
describe('the compiled prices agree with calcPrice', () => {
  for (const providerId of ['openai', 'anthropic', 'google', 'deepseek', 'mistral', 'groq', 'together']) {
    test(providerId, () => {
      let checked = 0;
      for (const model of findProvider({ providerId })!.models) {
        const entry = lookupCatalogue(providerId, model.id);
        if (!entry || entry.id !== `${providerId}/${model.id}`) continue;
        const price: Price = { free: false, source: entry.id, periods: entry.periods, multipliers: [] };
        const times = [at('2025-01-01T12:00:00Z'), at('2026-11-30T03:00:00Z'), at('2027-06-01T20:00:00Z')];
        for (const c of Array.isArray(model.prices) ? model.prices : []) {
          if (c.constraint?.type === 'start_date') times.push(at(`${c.constraint.start_date}T00:00:00Z`) - 1, at(`${c.constraint.start_date}T00:00:00Z`));
          if (c.constraint?.type === 'time_of_date') {
            const day = at('2026-12-02T00:00:00Z');
            const sec = (s: string) => Number(s.slice(0, 2)) * 3600 + Number(s.slice(3, 5)) * 60;
            times.push(day + sec(c.constraint.start_time) * 1000 - 1000, day + sec(c.constraint.start_time) * 1000, day + sec(c.constraint.end_time) * 1000);
          }
        }
        for (const [prompt, read, write, out] of [[1234, 0, 0, 567], [300_000, 120_000, 30_000, 4000], [50, 50, 0, 0]] as const) {
          for (const t of times) {
            let lib: number;
            try {
              lib = calcPrice({ input_tokens: prompt, cache_read_tokens: read, cache_write_tokens: write, output_tokens: out }, model.id, { providerId, timestamp: new Date(t) })!.total_price;
            } catch {
              continue; // genai-prices refuses usage this model cannot price (e.g. cache writes without a cache-write price key)
            }
            const ours = costOf(price, { promptTokens: prompt, cachedTokens: read, cacheWriteTokens: write, completionTokens: out }, t);
            assert.ok(Math.abs(ours.usd - lib) <= 0.5e-9 + lib * 1e-12, `${entry.id} at ${new Date(t).toISOString()} ${prompt}/${read}/${write}/${out}: ${ours.usd} vs ${lib}`);
            checked++;
          }
        }
      }
      assert.ok(checked > 20, `checked ${checked} prices`);
    });
  }
});
