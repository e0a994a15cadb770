import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { loadConfigFile } from '../../src/config/loader.ts';
import { keySchema } from '../../src/config/keys-schema.ts';
import { Exchange } from '../../src/exchange/exchange.ts';
import { compileKeys } from '../../src/policy/keys.ts';
import { replayCompletion } from '../../src/policy/response-cache/cache-replay.ts';
import { toGatewayKey } from '../../src/policy/stored-key.ts';
import { costOfExchange } from '../../src/pricing/exchange-cost.ts';
import { usageCostFor, withUsageCost } from '../../src/pricing/usage-cost.ts';
import { ChunkWriter } from '../../src/openai/chunk-writer.ts';
import { ChunkNormalizer } from '../../src/openai/normalize-chunk.ts';
import { OpenAIStreamTranslator } from '../../src/dialects/openai-compat/stream.ts';
import { schemaErrors } from '../support/openai-schema.ts';
import { scratchDir, smallConfig } from '../support/unit/config.ts';

const scratch = scratchDir();
after(() => scratch.cleanup());

const config = loadConfigFile(
  scratch.write(
    'gateway.yaml',
    smallConfig({
      providers: 'providers:\n  local: { dialect: openai, pricing: { free: true } }\n  paid: { dialect: openai }\n',
      models: ['models:', '  m:', '    targets:', '      - { provider: local, model: llama-local }', '      - { provider: paid, model: gpt-4o-mini, pricing: { input: 2, output: 4 } }', ''].join('\n'),
    }),
  ),
  {},
  1,
);

const base = { name: 'k', team: 't', sha256: 'a'.repeat(64) };
const optedIn = compileKeys([keySchema.parse({ ...base, usageCost: true })], new Set(['m']), 'test', {}).keys[0]!;
const plain = compileKeys([keySchema.parse(base)], new Set(['m']), 'test', {}).keys[0]!;

function exchange(key: typeof plain, attempts: number): Exchange {
  const ex = new Exchange(config, undefined);
  ex.caller = key;
  ex.model = config.models.get('m')!;
  for (let n = 1; n <= attempts; n++) ex.attempts.push({ provider: ex.model.targets[n - 1]!.provider, providerModel: ex.model.targets[n - 1]!.model, number: n, key: ex.model.targets[n - 1]!.key, startedAtMs: 0 });
  return ex;
}

const usage = { promptTokens: 1000, completionTokens: 500 };
const label = { id: 'chatcmpl-1', created: 1, publicModel: 'm', includeUsage: true };

describe('usage.cost (opt-in per key)', () => {
  test('gateway.yaml `usageCost` defaults to off; admin-created keys carry it too', () => {
    assert.equal(plain.usageCost, undefined);
    assert.equal(optedIn.usageCost, true);
    const stored = { id: 'key_000000000000', name: 'a', team: 't', disabled: false, createdAt: '2026-01-01T00:00:00Z', hint: 'abcd' };
    assert.equal(toGatewayKey({ ...stored, usageCost: true }).usageCost, true);
    assert.equal(toGatewayKey(stored).usageCost, undefined);
  });

  test('priced at the target that served, the same number the log line gets', () => {
    const ex = exchange(optedIn, 2);
    ex.usage = usage;
    assert.equal(usageCostFor(ex)!(usage), costOfExchange(ex)!.usd);
    assert.equal(usageCostFor(ex)!(usage), (1000 * 2 + 500 * 4) / 1e6);
    assert.equal(usageCostFor(exchange(optedIn, 1))!(usage), 0, 'the free first target');
    assert.equal(usageCostFor(exchange(plain, 2)), undefined, 'not opted in');
    assert.equal(usageCostFor(exchange(optedIn, 0)), undefined, 'no target answered yet');
    assert.deepEqual(withUsageCost(exchange(plain, 2)), {});
  });

  test('translating dialects (ChunkWriter): the usage chunk carries cost, only with costOf, and fits the OpenAI schema', () => {
    const costOf = usageCostFor(exchange(optedIn, 2))!;
    const chunk = (sse: string): Record<string, unknown> => JSON.parse(sse.slice('data: '.length)) as Record<string, unknown>;
    const withCost = chunk(new ChunkWriter({ ...label, costOf }).usage(usage));
    assert.deepEqual(withCost['usage'], { prompt_tokens: 1000, completion_tokens: 500, total_tokens: 1500, cost: 0.004 });
    assert.deepEqual(schemaErrors('CreateChatCompletionStreamResponse', withCost), []);
    assert.equal('cost' in (chunk(new ChunkWriter(label).usage(usage))['usage'] as object), false);
    assert.equal(chunk(new ChunkWriter({ ...label, costOf }).choice({ content: 'x' }))['usage'], null, 'other chunks: usage null');
  });

  test('OpenAI-compatible streams (ChunkNormalizer): cost from the provider-reported usage; a provider\'s own cost is never relayed', () => {
    const costOf = usageCostFor(exchange(optedIn, 2))!;
    const events = [
      { choices: [{ index: 0, delta: { content: 'hi' }, finish_reason: 'stop' }] },
      { choices: [], usage: { prompt_tokens: 1000, completion_tokens: 500, total_tokens: 1500, cost: 99 } },
    ];
    const run = (ctx: typeof label & { costOf?: typeof costOf }): Record<string, unknown> | undefined => {
      const t = new OpenAIStreamTranslator(ctx);
      const out = t.push(Buffer.from(events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('') + 'data: [DONE]\n\n')) + t.end();
      const chunks = out.split('\n\n').filter((l) => l.startsWith('data: {')).map((l) => JSON.parse(l.slice(6)) as Record<string, unknown>);
      return chunks.at(-1)!['usage'] as Record<string, unknown> | undefined;
    };
    assert.equal(run({ ...label, costOf })!['cost'], 0.004);
    assert.equal('cost' in run(label)!, false);
    const n = new ChunkNormalizer({ ...label, includeUsage: false, costOf });
    n.chunk(events[0]!);
    n.chunk(events[1]!);
    assert.equal(n.tail().includes('"usage"'), false, 'no usage chunk unless the caller asked for it');
  });

  test('a cache hit never replays a stored cost: an opted-in key is told 0, another key gets no field', () => {
    const entry = {
      storedAt: 0,
      completion: {
        id: 'old', object: 'chat.completion' as const, created: 0, model: 'm',
        choices: [{ index: 0, message: { role: 'assistant' as const, content: 'hi', refusal: null }, logprobs: null, finish_reason: 'stop' as const }],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2, cost: 0.5 },
      },
    };
    const replay = { id: 'chatcmpl-2', created: 2, publicModel: 'm', stream: false, includeUsage: false };
    assert.equal(replayCompletion(entry, { ...replay, usageCost: true }).usage!.cost, 0);
    assert.equal('cost' in replayCompletion(entry, replay).usage!, false);
  });
});
