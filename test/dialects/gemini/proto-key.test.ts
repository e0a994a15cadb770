import assert from 'node:assert/strict';
import { test } from 'node:test';
import { geminiDialect } from '../../../src/dialects/gemini/index.ts';
import { chatRequestSchema } from '../../../src/openai/chat-request.ts';
import { normalizeStream } from '../../support/openai-compare.ts';
import { responseCtx, streamCtx } from './support.ts';

// fast-check found it (gemini properties (b), seed -477248908): a tool call whose arguments hold
// the key "__proto__" lost that key, because a zod record rebuilt the object by assignment.
// "__proto__" is legal JSON and a legal argument or schema property name; it must pass through.
const ARGS = '{"__proto__":0,"a":1}';
const candidate = { content: { role: 'model', parts: [{ functionCall: { name: 'f', args: JSON.parse(ARGS) as unknown } }] }, index: 0, finishReason: 'STOP' };
const body = { candidates: [candidate], usageMetadata: { promptTokenCount: 1, candidatesTokenCount: 1, totalTokenCount: 2 } };

test('a "__proto__" key in Gemini tool-call args survives a JSON answer', () => {
  const { completion } = geminiDialect.parseResponse(new TextEncoder().encode(JSON.stringify(body)), responseCtx);
  assert.equal(completion.choices[0]!.message.tool_calls?.[0]?.function.arguments, ARGS);
});

test('a "__proto__" key in Gemini tool-call args survives a stream', () => {
  const t = geminiDialect.createStreamTranslator(streamCtx);
  const out = t.push(new TextEncoder().encode(`data: ${JSON.stringify(body)}\n\n`)) + t.end();
  assert.equal(normalizeStream(out).toolCalls.get(0)?.arguments, ARGS);
});

test('a "__proto__" property in a request\'s tool parameters and response_format schema is kept', () => {
  const schema = JSON.parse('{"type":"object","__proto__":{"x":1}}') as unknown;
  const req = chatRequestSchema.parse({
    model: 'm',
    messages: [{ role: 'user', content: 'hi' }],
    tools: [{ type: 'function', function: { name: 'f', parameters: schema } }],
    response_format: { type: 'json_schema', json_schema: { name: 'n', schema } },
  });
  const fn = req.tools?.[0] as { function: { parameters: unknown } };
  assert.equal(JSON.stringify(fn.function.parameters), '{"type":"object","__proto__":{"x":1}}');
  const rf = req.response_format as { json_schema: { schema: unknown } };
  assert.equal(JSON.stringify(rf.json_schema.schema), '{"type":"object","__proto__":{"x":1}}');
});
