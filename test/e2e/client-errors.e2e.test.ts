import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { hello, startTestStack, type TestStack } from '../support/e2e.ts';

/**
 * Issue 12 item 4 through the real Envoy: caller input that used to reach an unguarded throw
 * (robustness-deep-nesting-500: a stack overflow and a 500) is a 400 naming the parameter, and
 * odd but valid JSON Schemas are a 200 or a 400, never a 5xx. The fuzzing itself is
 * test/exchange/fuzz.test.ts (in-process) and scripts/fuzz.ts (through Envoy, long).
 */
let gw: TestStack;
before(async () => {
  gw = await startTestStack();
});
after(async () => {
  await gw?.dispose();
});


/** The SDK's error for a refused call: its status and the OpenAI error fields. */
async function refused(call: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    await call;
  } catch (err) {
    assert.ok(err instanceof OpenAI.APIError, String(err));
    return err;
  }
  assert.fail('expected the call to be refused');
}

const deep = (d: number, open: string, leaf: string, close: string): string => `${open.repeat(d)}${leaf}${close.repeat(d)}`;

describe('nesting beyond the bound is a 400 naming the parameter (robustness-deep-nesting-500)', () => {
  test('5,000 levels in an unknown field of a stream request', async () => {
    const { status, json } = await gw.postChat(`{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}],"x_extra":${deep(5000, '[', '', ']')}}`);
    assert.equal(status, 400, JSON.stringify(json));
    assert.deepEqual({ type: json.error.type, param: json.error.param, code: json.error.code }, { type: 'invalid_request_error', param: 'x_extra', code: 'nesting_too_deep' });
  });

  for (const model of ['claude-sonnet-4-5', 'chat-default', 'gemini-2.5-flash']) {
    test(`5,000 levels in tool parameters and in a response_format schema (${model})`, async () => {
      const props = `{"type":"object","properties":{"p":${deep(5000, '{"a":', '1', '}')}}}`;
      const tool = await gw.postChat(`{"model":"${model}","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":${props}}}]}`);
      assert.equal(tool.status, 400, JSON.stringify(tool.json));
      assert.equal(tool.json.error.param, 'tools[0].function.parameters');
      const format = await gw.postChat(`{"model":"${model}","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":${props}}}}`);
      assert.equal(format.status, 400, JSON.stringify(format.json));
      assert.equal(format.json.error.param, 'response_format.json_schema.schema');
    });
  }

  for (const model of ['claude-sonnet-4-5', 'gemini-2.5-flash']) {
    test(`tool call arguments holding JSON 5,000 levels deep (${model}, which parse them)`, async () => {
      const err = await refused(
        gw.client().chat.completions.create({
          model,
          messages: [
            { role: 'user', content: 'Weather?' },
            { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: `{"a":${deep(5000, '[', '', ']')}}` } }] },
            { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
          ],
          tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: {} } } }],
        }),
      );
      assert.equal(err.status, 400);
      assert.equal(err.param, 'messages[1].tool_calls[0].function.arguments');
      assert.equal(err.code, 'nesting_too_deep');
    });
  }
});

describe('odd but valid JSON Schemas: a 200 or a 400, never a 5xx', () => {
  const schemas: Record<string, Record<string, unknown>> = {
    'recursive $ref': { type: 'object', $defs: { N: { type: 'object', properties: { next: { $ref: '#/$defs/N' } } } }, properties: { n: { $ref: '#/$defs/N' } } },
    'a 20,000-value enum': { type: 'object', properties: { x: { type: 'string', enum: Array.from({ length: 20_000 }, (_, i) => `v${i}`) } } },
    'anyOf 100 levels deep': { type: 'object', properties: { p: Array.from({ length: 100 }).reduce<Record<string, unknown>>((s) => ({ anyOf: [s, { type: 'null' }] }), { type: 'string' }) } },
  };
  for (const model of ['gpt-4o-mini', 'claude-sonnet-4-5', 'gemini-2.5-flash']) {
    for (const [name, parameters] of Object.entries(schemas)) {
      test(`${name} as tool parameters (${model})`, async () => {
        try {
          const answer = await gw.client().chat.completions.create({ model, messages: hello, tools: [{ type: 'function', function: { name: 'f', parameters } }] });
          assert.equal(answer.object, 'chat.completion');
        } catch (err) {
          assert.ok(err instanceof OpenAI.APIError, String(err));
          assert.equal(err.status, 400, err.message);
          assert.ok(err.param?.startsWith('tools[0].function.parameters'), `param ${err.param}`);
        }
      });
    }
  }

  test('the gateway logged no server error for any of it, and still serves', async () => {
    const answer = await gw.client().chat.completions.create({ model: 'gpt-4o-mini', messages: hello });
    assert.equal(answer.object, 'chat.completion');
    for (const line of gw.logLines()) if (typeof line['status'] === 'number') assert.ok(line['status'] < 500, JSON.stringify(line));
  });
});
