import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JSON_OBJECT_INSTRUCTION } from '../../../src/dialects/anthropic/request.ts';
import { anthropicBody } from './helpers.ts';

const hi = { role: 'user', content: 'List two colours.' };
const json = { type: 'json_object' };

test('json_object → the JSON instruction as the system prompt, no output_config (no schema to send)', () => {
  const body = anthropicBody({ messages: [hi], response_format: json });
  assert.equal(body['system'], JSON_OBJECT_INSTRUCTION);
  assert.equal('output_config' in body, false);
  assert.deepEqual(body['messages'], [hi]);
  assert.match(JSON_OBJECT_INSTRUCTION, /JSON object/);
});

test('json_object after the caller’s own system prompt, which stays a byte-identical block', () => {
  const one = anthropicBody({ messages: [{ role: 'system', content: 'Be brief.' }, hi], response_format: json });
  assert.deepEqual(one['system'], [
    { type: 'text', text: 'Be brief.' },
    { type: 'text', text: JSON_OBJECT_INSTRUCTION },
  ]);
  const two = anthropicBody({ messages: [{ role: 'system', content: 'A' }, { role: 'developer', content: 'B' }, hi], response_format: json });
  assert.deepEqual(two['system'], [
    { type: 'text', text: 'A' },
    { type: 'text', text: 'B' },
    { type: 'text', text: JSON_OBJECT_INSTRUCTION },
  ]);
});

test('json_object works with extended thinking (where a prefill would be refused) and with text requests unchanged', () => {
  const body = anthropicBody({ messages: [hi], response_format: json, reasoning_effort: 'low' });
  assert.equal(body['system'], JSON_OBJECT_INSTRUCTION);
  assert.ok('thinking' in body);
  assert.equal('system' in anthropicBody({ messages: [hi], response_format: { type: 'text' } }), false);
});
