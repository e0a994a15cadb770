import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import OpenAI from 'openai';
import { JSON_OBJECT_INSTRUCTION } from '../../src/dialects/anthropic/request.ts';
import { hello, startTestStack, type TestStack } from '../support/e2e.ts';
import { schemaErrors } from '../support/openai-schema.ts';

let gw: TestStack;
before(async () => {
  gw = await startTestStack();
});
after(async () => {
  await gw?.dispose();
});
beforeEach(() => {
  for (const sim of Object.values(gw.sims)) sim.reset();
});


describe('a target that cannot serve the request is skipped', () => {
  test('n: 2 on chat-default: Anthropic skipped, Gemini serves two choices', async () => {
    const { data, response } = await gw.client().chat.completions.create({ model: 'chat-default', messages: hello, n: 2 }).withResponse();
    assert.equal(response.status, 200);
    assert.equal(data.model, 'chat-default');
    assert.deepEqual(schemaErrors('CreateChatCompletionResponse', data), []);
    assert.deepEqual(data.choices.map((c) => c.index), [0, 1]);
    for (const c of data.choices) assert.ok((c.message.content ?? '').length > 0);
    assert.equal(gw.sims['anthropic']!.requests.length, 0, 'nothing was sent to the target that cannot serve n > 1');
    const g = gw.sims['gemini']!.requests;
    assert.equal(g.length, 1);
    assert.equal((g[0]!.body as { generationConfig?: { candidateCount?: number } }).generationConfig?.candidateCount, 2);
    // The plan reaching the provider is the request's own: two slots, Gemini first.
    assert.equal(g[0]!.headers['x-llmx-try-1'], 'gemini');
    assert.equal(g[0]!.headers['x-llmx-try-2'], 'openai-primary');
    assert.equal(g[0]!.headers['x-llmx-try-3'], undefined);
    const line = await gw.requestLog(response.headers.get('x-request-id'));
    assert.deepEqual([line.status, line.provider, line.model, line.attempts], [200, 'gemini', 'chat-default', 1]);
  });

  test('failover inside the reduced plan: Gemini 503 → the OpenAI-compatible target, never Anthropic', async () => {
    gw.sims['gemini']!.enqueueFault({ status: 503 });
    const { data, response } = await gw.client().chat.completions.create({ model: 'chat-default', messages: hello, n: 2 }).withResponse();
    assert.equal(response.status, 200);
    assert.equal(data.model, 'chat-default');
    assert.equal(data.choices.length, 2);
    assert.equal(gw.sims['anthropic']!.requests.length, 0);
    assert.equal(gw.sims['gemini']!.requests.length, 1);
    const o = gw.sims['openai-primary']!.requests;
    assert.equal(o.length, 1);
    // Translated afresh for the OpenAI-compatible provider: its key, the Gemini key gone.
    assert.match(o[0]!.headers.authorization ?? '', /^Bearer sim-openai-primary-/);
    assert.equal(o[0]!.headers['x-goog-api-key'], undefined);
    assert.deepEqual([(o[0]!.body as { n?: number }).n, (o[0]!.body as { model?: string }).model], [2, 'gpt-4o-mini']);
    const line = await gw.requestLog(response.headers.get('x-request-id'));
    assert.deepEqual([line.status, line.provider, line.attempts], [200, 'openai-primary', 2]);
  });

  test('no target can serve it: 400 naming the parameter, nothing sent upstream', async () => {
    for (const [model, extra, param] of [
      ['claude-sonnet-4-5', { n: 2 }, 'n'],
      ['gemini-2.5-flash', { logprobs: true }, 'logprobs'],
    ] as const) {
      await assert.rejects(gw.client().chat.completions.create({ model, messages: hello, ...extra }), (err: unknown) => {
        assert.ok(err instanceof OpenAI.BadRequestError, String(err));
        assert.equal(err.status, 400);
        assert.equal(err.type, 'invalid_request_error');
        assert.equal(err.param, param);
        assert.equal(err.code, 'unsupported_parameter');
        return true;
      });
    }
    for (const sim of Object.values(gw.sims)) assert.equal(sim.requests.length, 0);
  });

  test('a request every provider refuses stays a 400 from the first target (temperature outside 0–2)', async () => {
    await assert.rejects(gw.client().chat.completions.create({ model: 'chat-default', messages: hello, temperature: 7 }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.BadRequestError, String(err));
      assert.equal(err.param, 'temperature');
      return true;
    });
    for (const sim of Object.values(gw.sims)) assert.equal(sim.requests.length, 0);
  });
});

describe('response_format json_object on Claude', () => {
  for (const stream of [false, true]) {
    test(`claude-sonnet-4-5 answers a JSON object, ${stream ? 'streamed' : 'not streamed'}`, async () => {
      const messages = [{ role: 'user' as const, content: 'Give me two colours as JSON.' }];
      let content = '';
      if (stream) {
        const s = await gw.client().chat.completions.create({ model: 'claude-sonnet-4-5', messages, response_format: { type: 'json_object' }, stream: true });
        for await (const c of s) content += c.choices[0]?.delta.content ?? '';
      } else {
        const res = await gw.client().chat.completions.create({ model: 'claude-sonnet-4-5', messages, response_format: { type: 'json_object' } });
        assert.equal(res.model, 'claude-sonnet-4-5');
        assert.equal(res.choices[0]!.finish_reason, 'stop');
        content = res.choices[0]!.message.content ?? '';
      }
      const value: unknown = JSON.parse(content);
      assert.ok(value !== null && typeof value === 'object' && !Array.isArray(value), content);
      // Anthropic's documented way: the instruction in the system prompt, no schema-less output_config.
      const sent = gw.sims['anthropic']!.requests[0]!.body as Record<string, unknown>;
      assert.equal(sent['system'], JSON_OBJECT_INSTRUCTION);
      assert.equal(sent['output_config'], undefined);
    });
  }
});
