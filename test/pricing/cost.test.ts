import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mapUsage } from '../../src/dialects/gemini/mapping.ts';
import { mergeCounts, toUsage, ZERO_COUNTS } from '../../src/dialects/anthropic/usage.ts';
import { fromOpenAIUsage } from '../../src/openai/usage.ts';
import { costOf, estimateCost, formatUsd, toNanoUsd } from '../../src/pricing/cost.ts';
import type { Price, TokenRates } from '../../src/pricing/types.ts';

function flat(rates: Partial<TokenRates> & { input: number; output: number }): Price {
  return {
    free: false,
    source: 'test',
    periods: [{ when: { kind: 'always' }, rates: { cacheRead: undefined, cacheWrite: undefined, perRequestUsd: 0, ...rates } }],
    multipliers: [],
  };
}

const T = Date.parse('2026-06-01T12:00:00Z');
// Claude-like rates: $3 input, $0.30 cache read, $3.75 cache write, $15 output per 1M tokens.
const claude = flat({ input: 3, cacheRead: 0.3, cacheWrite: 3.75, output: 15 });

describe('cached and cache-write tokens, per provider semantics (all normalized to OpenAI\'s: parts of the prompt)', () => {
  test('OpenAI: prompt_tokens 1,904 includes cached_tokens 1,792 → 112 uncached + 1,792 cached', () => {
    const p = flat({ input: 0.15, cacheRead: 0.075, output: 0.6 });
    // the openai-compat dialect's usage for the team's fixture (test/dialects/openai-compat/response.test.ts)
    const cost = costOf(p, { promptTokens: 1904, completionTokens: 23, cachedTokens: 1792 }, T);
    assert.equal(cost.nanoUsd, Math.round(112 * 150 + 1792 * 75 + 23 * 600));
  });
  test('Anthropic: input_tokens 18 + cache_creation 100 + cache_read 1,893 → prompt 2,011; each part at its own rate', () => {
    // src/dialects/anthropic/usage.ts toUsage: promptTokens = input + creation + read, cachedTokens = read, cacheWriteTokens = creation
    const cost = costOf(claude, { promptTokens: 18 + 100 + 1893, completionTokens: 27, cachedTokens: 1893, cacheWriteTokens: 100 }, T);
    assert.equal(cost.nanoUsd, 18 * 3000 + 1893 * 300 + 100 * 3750 + 27 * 15000);
  });
  test('Gemini: promptTokenCount 1,874 includes cachedContentTokenCount 1,835', () => {
    const p = flat({ input: 0.3, cacheRead: 0.03, output: 2.5 });
    const cost = costOf(p, { promptTokens: 1874, completionTokens: 113, cachedTokens: 1835 }, T);
    assert.equal(cost.nanoUsd, 39 * 300 + 1835 * 30 + 113 * 2500);
  });
  test('the dialects\' own usage normalization, priced (wire README §5.6 usage fields)', () => {
    // Anthropic Message.usage: input_tokens excludes both cache counts
    const anthropic = toUsage(mergeCounts(ZERO_COUNTS, { input_tokens: 18, cache_creation_input_tokens: 100, cache_read_input_tokens: 1893, output_tokens: 27 }));
    assert.equal(costOf(claude, anthropic, T).nanoUsd, 18 * 3000 + 1893 * 300 + 100 * 3750 + 27 * 15000);
    // OpenAI usage: cached_tokens and the newer cache_write_tokens are parts of prompt_tokens
    const openai = fromOpenAIUsage({ prompt_tokens: 2011, completion_tokens: 27, total_tokens: 2038, prompt_tokens_details: { cached_tokens: 1893, cache_write_tokens: 100 } as never })!;
    assert.equal(costOf(claude, openai, T).nanoUsd, 18 * 3000 + 1893 * 300 + 100 * 3750 + 27 * 15000);
    // Gemini usageMetadata: promptTokenCount includes cachedContentTokenCount; thoughts are output
    const gemini = mapUsage({ promptTokenCount: 1874, cachedContentTokenCount: 1835, candidatesTokenCount: 24, thoughtsTokenCount: 89, totalTokenCount: 1987 });
    const flash = flat({ input: 0.3, cacheRead: 0.03, output: 2.5 });
    assert.equal(costOf(flash, gemini, T).nanoUsd, 39 * 300 + 1835 * 30 + 113 * 2500);
  });
  test('a price without cache rates charges cached and cache-write tokens as input (genai-prices\' rule)', () => {
    const p = flat({ input: 1, output: 2 });
    assert.equal(costOf(p, { promptTokens: 1000, completionTokens: 0, cachedTokens: 600, cacheWriteTokens: 300 }, T).nanoUsd, 1000 * 1000);
  });
  test('cache counts above the prompt never throw; uncached input is then 0', () => {
    assert.equal(costOf(claude, { promptTokens: 10, completionTokens: 0, cachedTokens: 20 }, T).nanoUsd, 20 * 300);
  });
  test('USD is exactly nano-USD / 1e9', () => {
    const c = costOf(claude, { promptTokens: 12_345, completionTokens: 678, cachedTokens: 1000 }, T);
    assert.equal(c.usd, c.nanoUsd / 1e9);
    assert.equal(c.nanoUsd, 11_345 * 3000 + 1000 * 300 + 678 * 15000);
  });
  test('free costs nothing', () => {
    assert.deepEqual(costOf({ ...claude, free: true }, { promptTokens: 1e6, completionTokens: 1e6 }, T), { usd: 0, nanoUsd: 0 });
  });
});

describe('nano-USD: rounded half up, per request', () => {
  test('fractions of a nano-USD', () => {
    assert.equal(toNanoUsd(0.4e-9), 0);
    assert.equal(toNanoUsd(0.5e-9), 1, 'an exact half rounds up');
    assert.equal(toNanoUsd(1.5e-9), 2);
    assert.equal(toNanoUsd(2.4999e-9), 2);
    assert.equal(toNanoUsd(0), 0);
  });
  test('float noise does not move a value across the half: 1 token at $0.0005/M is exactly half a nano-USD', () => {
    const p = flat({ input: 0.0005, output: 0 });
    assert.equal(costOf(p, { promptTokens: 1, completionTokens: 0 }, T).nanoUsd, 1);
    assert.equal(costOf(p, { promptTokens: 3, completionTokens: 0 }, T).nanoUsd, 2, '1.5 → 2');
  });
  test('0.1 + 0.2 style sums land on the integer they mean', () => {
    assert.equal(toNanoUsd(0.1e-6 + 0.2e-6), 300);
    assert.equal(costOf(flat({ input: 0.15, output: 0.6 }), { promptTokens: 1000, completionTokens: 0 }, T).nanoUsd, 150_000);
  });
  test('formatUsd: a plain decimal, never an exponent', () => {
    assert.equal(formatUsd(0), '0');
    assert.equal(formatUsd(1), '0.000000001');
    assert.equal(formatUsd(150_000), '0.00015');
    assert.equal(formatUsd(12_345_678_900), '12.3456789');
    assert.equal(Number(formatUsd(987_654_321)), 987_654_321 / 1e9);
  });
});

describe('estimateCost: the most a request can cost, for reservations', () => {
  test('prompt at the dearer of input and cache-write rates, output at its limit', () => {
    assert.equal(estimateCost(claude, 1000, 4096, T).nanoUsd, 1000 * 3750 + 4096 * 15000);
    const p = flat({ input: 0.15, cacheRead: 0.075, output: 0.6 });
    assert.equal(estimateCost(p, 1000, 100, T).nanoUsd, 1000 * 150 + 100 * 600);
  });
  test('never below the cost of any usage within those bounds', () => {
    for (const [read, write] of [[0, 0], [500, 0], [0, 500], [300, 700]] as const) {
      const actual = costOf(claude, { promptTokens: 1000, completionTokens: 4096, cachedTokens: read, cacheWriteTokens: write }, T);
      assert.ok(estimateCost(claude, 1000, 4096, T).nanoUsd >= actual.nanoUsd);
    }
  });
  test('tiered: the tier of the estimated prompt', () => {
    const tiered: Price = flat({ input: 0, output: 0 });
    const rates = { input: { base: 3, tiers: [{ start: 200_000, price: 6 }] }, cacheRead: undefined, cacheWrite: undefined, output: { base: 15, tiers: [{ start: 200_000, price: 22.5 }] }, perRequestUsd: 0 };
    const p: Price = { ...tiered, periods: [{ when: { kind: 'always' }, rates }] };
    assert.equal(estimateCost(p, 250_000, 1000, T).nanoUsd, 250_000 * 6000 + 1000 * 22_500);
  });
  test('free reserves nothing', () => {
    assert.equal(estimateCost({ ...claude, free: true }, 1000, 1000, T).nanoUsd, 0);
  });
});

describe('periods over time (genai-prices\' order: the last that holds wins)', () => {
  const base = { cacheRead: undefined, cacheWrite: undefined, perRequestUsd: 0 };
  const p: Price = {
    free: false,
    source: 'test',
    periods: [
      { when: { kind: 'always' }, rates: { ...base, input: 1, output: 1 } },
      { when: { kind: 'since', ms: Date.parse('2026-08-17T00:00:00Z') }, rates: { ...base, input: 2, output: 2 } },
      { when: { kind: 'daily', startSec: 3600, endSec: 4 * 3600 }, rates: { ...base, input: 5, output: 5 } },
    ],
    multipliers: [],
  };
  const perM = (iso: string) => costOf(p, { promptTokens: 1_000_000, completionTokens: 0 }, Date.parse(iso)).usd;
  test('a start date, inclusive', () => {
    assert.equal(perM('2026-08-16T23:59:59.999Z'), 1);
    assert.equal(perM('2026-08-17T00:00:00Z'), 2);
  });
  test('a daily window takes precedence when listed last', () => {
    assert.equal(perM('2026-08-20T01:00:00Z'), 5);
    assert.equal(perM('2026-08-20T03:59:59Z'), 5);
    assert.equal(perM('2026-08-20T04:00:00Z'), 2);
  });
});
