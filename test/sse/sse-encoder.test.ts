import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SSE_DONE, sseData } from '../../src/sse/sse-encoder.ts';

test('OpenAI framing: one data line, a blank line after, JSON on one line', () => {
  assert.equal(sseData({ a: 'x\ny' }), 'data: {"a":"x\\ny"}\n\n');
  assert.equal(SSE_DONE, 'data: [DONE]\n\n');
});
