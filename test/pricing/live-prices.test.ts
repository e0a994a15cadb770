import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { calcPrice } from '@pydantic/genai-prices';
import { ConfigStore } from '../../src/config/store.ts';
import { UNRESTRICTED_SCOPE } from '../../src/policy/model-scope.ts';
import { at, pricingConfig } from './fixture.ts';

const cfg = pricingConfig();
const configs = new ConfigStore(cfg.file, cfg.env);
after(() => rmSync(cfg.dir, { recursive: true, force: true }));

interface Listed {
  id: string;
  object: string;
  created: number;
  owned_by: string;
  context_length: number | null;
  pricing: { currency: string; unit: string; input: number; cached_input: number; output: number; windows: Array<Record<string, unknown>>; targets: Array<{ input: number; output: number }> };
}
const list = (atMs: number, scope = UNRESTRICTED_SCOPE): Listed[] => (JSON.parse(configs.current.modelCatalog.listBody(scope, atMs)) as { data: Listed[] }).data;
const model = (name: string, atMs: number): Listed => JSON.parse(configs.current.modelCatalog.objectBody(name, atMs)!) as Listed;

/** genai-prices' own rate for gpt-4o-mini (USD per 1M input tokens), the oracle for catalogue prices. */
const catalogueInput = calcPrice({ input_tokens: 1_000_000, output_tokens: 0 }, 'gpt-4o-mini', { providerId: 'openai' })!.total_price;

describe('GET /v1/models prices (model catalog)', () => {
  test('OpenAI’s four fields stay as they are; prices and context length sit beside them', () => {
    const m = model('night-owl', at('12:00:00'));
    assert.equal(m.id, 'night-owl');
    assert.equal(m.object, 'model');
    assert.equal(typeof m.created, 'number');
    assert.equal(m.owned_by, 'llm-extproc');
    assert.equal(m.context_length, 32000, 'the config override');
    assert.equal(m.pricing.currency, 'USD');
    assert.equal(m.pricing.unit, 'per_million_tokens');
    assert.deepEqual([m.pricing.input, m.pricing.output], [1, 4], 'the first target’s (config order)');
    const claude = calcPrice({ input_tokens: 1000, output_tokens: 1000 }, 'claude-sonnet-4-5-20250929', { providerId: 'anthropic' })!;
    assert.deepEqual(m.pricing.targets.map((t) => [t.input, t.output]), [[1, 4], [claude.input_price * 1000, claude.output_price * 1000]], 'every target, in config order');
    assert.doesNotMatch(JSON.stringify(m), /openai-primary|anthropic|claude-sonnet-4-5-20250929/, 'no provider or provider model name reaches a caller');
    const mini = model('gpt-4o-mini', at('09:00:00'));
    assert.ok(typeof mini.context_length === 'number' && mini.context_length > 0, 'from the catalogue');
    assert.equal(mini.pricing.input, catalogueInput);
  });

  test('a window that starts at 22:00 shows from 22:00 and ends at 06:00 (exclusive)', () => {
    const night = (t: string) => model('night-owl', at(t)).pricing;
    assert.deepEqual([night('21:59:59').input, night('21:59:59').output, night('21:59:59').cached_input], [1, 4, 0.5]);
    assert.deepEqual([night('22:00:00').input, night('22:00:00').output], [0.5, 2]);
    assert.deepEqual(night('22:00:00').windows, [{ from: '22:00', to: '06:00', in_force: true, input: 0.5, cached_input: 0.5, output: 2 }]);
    assert.equal(night('05:59:59').input, 0.5);
    assert.equal(night('06:00:00').input, 1);
    assert.equal(night('06:00:00').windows[0]!['in_force'], false);
  });

  test('a multiplier window applies to catalogue prices, on the list and on retrieve, aliases too', () => {
    const before = list(at('11:59:59')).find((m) => m.id === 'mini')!;
    const inside = list(at('12:00:00')).find((m) => m.id === 'mini')!;
    assert.equal(before.pricing.input, catalogueInput);
    assert.equal(inside.pricing.input, Number((catalogueInput * 0.5).toPrecision(12)));
    assert.deepEqual(inside.pricing.windows, [{ from: '12:00', to: '13:00', in_force: true, multiplier: 0.5 }]);
    assert.equal(model('gpt-4o-mini', at('13:00:00')).pricing.input, catalogueInput);
  });

  test('a scoped key’s list holds only its models, priced the same', () => {
    const scoped = configs.current.keys.keys.find((k) => k.name === 'mini-only')!.scope;
    const ids = list(at('12:30:00'), scoped).map((m) => m.id);
    assert.deepEqual(ids, ['gpt-4o-mini', 'mini'], 'the model and its alias, not night-owl');
    assert.equal(list(at('12:30:00'), scoped)[0]!.pricing.input, model('gpt-4o-mini', at('12:30:00')).pricing.input);
  });

  test('rendered once per price epoch: the same body until an edge passes', () => {
    const c = configs.current.modelCatalog;
    const a = c.listBody(UNRESTRICTED_SCOPE, at('14:00:00'));
    assert.equal(c.listBody(UNRESTRICTED_SCOPE, at('21:00:00')), a, 'no edge between 14:00 and 21:00');
    assert.notEqual(c.listBody(UNRESTRICTED_SCOPE, at('22:00:00')), a);
  });
});
