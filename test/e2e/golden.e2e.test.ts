import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { authHeaders, startTestStack, type TestStack } from '../support/e2e.ts';
import {
  assertCompletionMatches,
  assertErrorMatches,
  assertStreamMatches,
  parseOpenAISse,
  type ErrorEnvelope,
} from '../support/openai-compare.ts';
import { schemaErrors } from '../support/openai-schema.ts';

/**
 * The shared wire fixtures replayed byte for byte by the simulated providers (streams cut at
 * random byte offsets), through real Envoy and the ext_proc service: the caller must get the
 * expected OpenAI output, valid against the official OpenAI schemas.
 */
const WIRE = path.resolve(import.meta.dirname, '../fixtures/wire');
interface FixtureEntry {
  fixture: string;
  stream: boolean;
  status: number;
  content_type: string;
  expected_openai?: string;
}
const manifest = JSON.parse(readFileSync(path.join(WIRE, 'manifest.json'), 'utf8')) as { fixtures: FixtureEntry[] };

const MODEL_FOR: Record<string, { model: string; sims: string[] }> = {
  anthropic: { model: 'claude-sonnet-4-5', sims: ['anthropic'] },
  gemini: { model: 'gemini-2.5-flash', sims: ['gemini'] },
  // gpt-4o-mini fails over to openai-backup on 429, so both replay the fixture.
  openai: { model: 'gpt-4o-mini', sims: ['openai-primary', 'openai-backup'] },
};

let gw: TestStack;
before(async () => {
  gw = await startTestStack();
});
after(async () => {
  await gw?.dispose();
});

describe('wire fixtures through real Envoy', () => {
  for (const f of manifest.fixtures) {
    const provider = f.fixture.split('/')[0]!;
    const route = MODEL_FOR[provider]!;
    test(f.fixture, async () => {
      const body = readFileSync(path.join(WIRE, f.fixture));
      const headersFile = path.join(WIRE, f.fixture.replace(/\.(json|sse)$/, '.headers.json'));
      let extraHeaders: Record<string, string> = {};
      try {
        extraHeaders = (JSON.parse(readFileSync(headersFile, 'utf8')) as { headers: Record<string, string> }).headers;
      } catch {
        // Only error fixtures have recorded headers.
      }
      for (const name of route.sims) {
        gw.sims[name]!.reset();
        gw.sims[name]!.enqueueFault({
          replay: { status: f.status, contentType: f.content_type, body, headers: extraHeaders },
          ...(f.stream ? { splitBytes: 'random' as const, splitSeed: 7 } : {}),
        });
      }
      const request = {
        model: route.model,
        messages: [{ role: 'user', content: 'Hi there!' }],
        ...(f.stream ? { stream: true, stream_options: { include_usage: true } } : {}),
      };
      const res = await gw.raw('/v1/chat/completions', { method: 'POST', headers: authHeaders(gw), body: JSON.stringify(request) });
      const text = await res.text();
      // The expected output: the team's expected/ file, or for OpenAI fixtures the fixture itself.
      const expectedFile = f.expected_openai ?? f.fixture;
      const expectedText = readFileSync(path.join(WIRE, expectedFile), 'utf8');
      const opts = { ignoreToolCallIds: provider === 'gemini' };

      if (f.status >= 400) {
        const headers: Record<string, string> = {};
        res.headers.forEach((v, k) => (headers[k] = v));
        const actual: ErrorEnvelope = { status: res.status, headers, body: JSON.parse(text) };
        const expected = (f.expected_openai ? JSON.parse(expectedText) : { status: f.status, headers: extraHeaders, body: JSON.parse(expectedText) }) as ErrorEnvelope;
        assertErrorMatches(expected, actual);
        assert.deepEqual(schemaErrors('ErrorResponse', actual.body), []);
        return;
      }
      assert.equal(res.status, 200, text);
      if (f.stream) {
        assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
        assertStreamMatches(expectedText, text, opts);
        for (const data of parseOpenAISse(text)) {
          if (data === '[DONE]') continue;
          const chunk = JSON.parse(data) as { model: string };
          assert.equal(chunk.model, route.model);
          assert.deepEqual(schemaErrors('CreateChatCompletionStreamResponse', chunk), [], data);
        }
      } else {
        const completion = JSON.parse(text) as { model: string };
        assert.equal(completion.model, route.model);
        assertCompletionMatches(JSON.parse(expectedText), completion, opts);
        assert.deepEqual(schemaErrors('CreateChatCompletionResponse', completion), []);
      }
    });
  }

  test('GET /v1/models matches the OpenAI schema', async () => {
    const res = await gw.raw('/v1/models', { headers: authHeaders(gw) });
    assert.deepEqual(schemaErrors('ListModelsResponse', await res.json()), []);
  });
});
