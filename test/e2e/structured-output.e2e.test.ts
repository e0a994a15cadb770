import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { generateObject } from 'ai';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { zodResponseFormat } from 'openai/helpers/zod';
import { z } from 'zod';
import { schemaErrors } from '../support/openai-schema.ts';
import { startTestStack, type TestStack } from '../support/e2e.ts';

/**
 * The SDKs' structured-output helpers through Envoy, for every dialect: the official `openai`
 * Node SDK's `.parse()` (JSON and stream), `n` on the providers that have it, the Vercel AI SDK's
 * `generateObject` and the official Python SDK's `.parse()`. The simulated providers answer
 * `response_format` the way each real API does (json_schema → JSON fitting the schema).
 */

const ROOT = path.resolve(import.meta.dirname, '../..');
const PYDEPS = path.join(ROOT, '.pydeps');
const PY_SCRIPT = path.join(import.meta.dirname, 'python/structured_output.py');
const INSTALL_HINT = 'python3 -m pip install --target .pydeps -r requirements-dev.txt (.ci/run does this)';
const run = promisify(execFile);

const MODELS = ['gpt-4o-mini', 'claude-sonnet-4-5', 'gemini-2.5-flash'];
/** Models whose provider can give several choices (Anthropic has no `n`). */
const MULTI_CHOICE = ['gpt-4o-mini', 'gemini-2.5-flash'];

const Booking = z.object({
  hotel: z.string(),
  nights: z.number().int().min(1),
  breakfast: z.boolean(),
  room: z.enum(['single', 'double']),
  contact: z.email(),
  guests: z.array(z.object({ name: z.string().min(2), age: z.number().int().min(18) })).min(1),
  notes: z.string().nullable(),
});
const messages = [
  { role: 'system' as const, content: 'Extract the hotel booking.' },
  { role: 'user' as const, content: 'Book the Grand Hotel for two nights, a double room for Ann (34) and Bo (36).' },
];

let gw: TestStack;
before(async () => {
  gw = await startTestStack();
});
after(async () => {
  await gw?.dispose();
});

describe('openai Node SDK: chat.completions.parse() with zodResponseFormat', () => {
  for (const model of MODELS) {
    test(`${model}: JSON`, async () => {
      const res = await gw.client().chat.completions.parse({ model, messages, response_format: zodResponseFormat(Booking, 'booking') });
      const choice = res.choices[0]!;
      assert.equal(res.model, model);
      assert.equal(choice.finish_reason, 'stop');
      assert.ok(choice.message.parsed, 'the SDK parsed the content');
      assert.deepEqual(choice.message.parsed, Booking.parse(JSON.parse(choice.message.content ?? '')));
      assert.ok(res.usage && res.usage.completion_tokens > 0);
    });

    test(`${model}: stream`, async () => {
      const stream = gw.client().chat.completions.stream({
        model,
        messages,
        response_format: zodResponseFormat(Booking, 'booking'),
        stream_options: { include_usage: true },
      });
      const final = await stream.finalChatCompletion();
      const choice = final.choices[0]!;
      assert.equal(choice.finish_reason, 'stop');
      assert.ok(choice.message.parsed, 'the SDK parsed the streamed content');
      Booking.parse(choice.message.parsed);
      assert.ok(final.usage && final.usage.prompt_tokens > 0 && final.usage.completion_tokens > 0, 'usage arrives at the end');
    });
  }
});

describe('n: several choices where the provider has them', () => {
  for (const model of MULTI_CHOICE) {
    test(`${model}: n=2, JSON`, async () => {
      const res = await gw.client().chat.completions.parse({ model, messages, n: 2, response_format: zodResponseFormat(Booking, 'booking') });
      assert.deepEqual(schemaErrors('CreateChatCompletionResponse', res), []);
      assert.deepEqual(res.choices.map((c) => c.index), [0, 1]);
      for (const c of res.choices) {
        assert.equal(c.finish_reason, 'stop');
        Booking.parse(c.message.parsed);
      }
    });

    test(`${model}: n=2, stream keeps each choice's index`, async () => {
      const stream = await gw.client().chat.completions.create({ model, messages: [{ role: 'user', content: 'Say hi' }], n: 2, stream: true });
      const text = new Map<number, string>();
      const finishes = new Map<number, number>();
      for await (const chunk of stream) {
        for (const c of chunk.choices) {
          text.set(c.index, (text.get(c.index) ?? '') + (c.delta.content ?? ''));
          if (c.finish_reason) finishes.set(c.index, (finishes.get(c.index) ?? 0) + 1);
        }
      }
      assert.deepEqual([...text.keys()].sort(), [0, 1]);
      assert.deepEqual([...finishes.entries()].sort(), [[0, 1], [1, 1]], 'one finish per choice');
      assert.notEqual(text.get(0), text.get(1), 'the two choices are kept apart');
      for (const t of text.values()) assert.match(t, /Say hi/);
    });
  }
});

describe('Vercel AI SDK: generateObject through the OpenAI-compatible provider', () => {
  // The default JSON mode makes the SDK warn that the schema is not sent; that is the point here.
  (globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false;
  const Weather = z.object({ city: z.string(), unit: z.enum(['celsius', 'fahrenheit']), days: z.array(z.number().int().min(0)).min(1) });

  for (const model of MODELS) {
    test(`${model}: structured outputs (json_schema)`, async () => {
      const provider = createOpenAICompatible({ name: 'gateway', baseURL: `${gw.httpUrl}/v1`, apiKey: gw.demoKey, supportsStructuredOutputs: true });
      const { object, usage, finishReason } = await generateObject({ model: provider(model), schema: Weather, prompt: 'Weather in Oslo for three days?', maxRetries: 0 });
      assert.deepEqual(object, Weather.parse(object));
      assert.equal(finishReason, 'stop');
      assert.ok((usage.inputTokens ?? 0) > 0 && (usage.outputTokens ?? 0) > 0);
    });

    test(`${model}: the default JSON mode (json_object), the schema given in the prompt`, async () => {
      const provider = createOpenAICompatible({ name: 'gateway', baseURL: `${gw.httpUrl}/v1`, apiKey: gw.demoKey });
      const system = `Answer with JSON that matches this JSON schema: ${JSON.stringify(z.toJSONSchema(Weather))}`;
      const { object } = await generateObject({ model: provider(model), schema: Weather, system, prompt: 'Weather in Oslo for three days?', maxRetries: 0 });
      assert.deepEqual(object, Weather.parse(object));
    });
  }
});

describe('openai Python SDK: chat.completions.parse() and .stream() with pydantic', () => {
  test('every model, JSON and stream', async () => {
    const env = { ...process.env, PYTHONPATH: [PYDEPS, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter) };
    try {
      await run('python3', ['-c', 'import openai, pydantic'], { env, timeout: 30_000 });
    } catch (err) {
      assert.fail(`Python's openai SDK (with pydantic) is needed for this test and is missing: ${INSTALL_HINT}. ${(err as Error).message}`);
    }
    const { stdout } = await run('python3', [PY_SCRIPT, ...MODELS], {
      env: { ...env, OPENAI_BASE_URL: `${gw.httpUrl}/v1`, OPENAI_API_KEY: gw.demoKey },
      timeout: 120_000,
    });
    const results = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      results.map((r) => `${String(r['model'])} ${String(r['mode'])}`),
      MODELS.flatMap((m) => [`${m} parse`, `${m} stream`]),
    );
    for (const r of results) {
      assert.equal(r['response_model'], r['model']);
      assert.equal(r['finish_reason'], 'stop');
      const parsed = r['parsed'] as { room: string; guests: unknown[] };
      assert.ok(['single', 'double'].includes(parsed.room));
      assert.ok(parsed.guests.length >= 1);
      assert.ok(Number(r['prompt_tokens']) > 0 && Number(r['completion_tokens']) > 0, `usage for ${String(r['model'])} ${String(r['mode'])}`);
    }
  });
});
