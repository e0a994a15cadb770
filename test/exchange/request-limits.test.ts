import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { InvalidRequestError } from '../../src/errors/gateway-error.ts';
import { checkRequestLimits, DEFAULT_REQUEST_LIMITS, type RequestLimits } from '../../src/exchange/request-limits.ts';
import { parseChatRequest } from '../../src/exchange/parse-request.ts';

const LIMITS: RequestLimits = { maxMessages: 3, maxContentParts: 4, maxJsonValues: 200 };
const bytes = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
const msgs = (n: number) => Array.from({ length: n }, (_, i) => ({ role: 'user', content: `m${i}` }));

function refused(body: unknown, limits: RequestLimits = LIMITS, code = 'array_above_max_length'): InvalidRequestError {
  let caught: unknown;
  try {
    checkRequestLimits(bytes(body), limits);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof InvalidRequestError, `expected a 400, got ${String(caught)}`);
  assert.equal(caught.status, 400);
  assert.equal(caught.code, code);
  return caught;
}

/** Every value of a parsed JSON value, itself included: what the scan must count. */
function valuesOf(v: unknown): number {
  if (Array.isArray(v)) return 1 + v.reduce((n: number, x) => n + valuesOf(x), 0);
  if (v !== null && typeof v === 'object') return 1 + Object.values(v).reduce((n: number, x) => n + valuesOf(x), 0);
  return 1;
}
function membersOf(v: unknown): number {
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + membersOf(x), 0);
  if (v !== null && typeof v === 'object') return Object.values(v).reduce((n: number, x) => n + 1 + membersOf(x), 0);
  return 0;
}

describe('checkRequestLimits: the robustness case (300,000 short messages)', () => {
  const body = bytes({ model: 'claude-sonnet-4-5', messages: msgs(300_000) });

  test('refused by default as messages, with the limit in the message', () => {
    const err = refused(body.toString(), DEFAULT_REQUEST_LIMITS);
    assert.equal(err.param, 'messages');
    assert.equal(err.message, "Invalid 'messages': array too long. Expected at most 4096 messages.");
  });

  test('parseChatRequest refuses it the same way (before JSON.parse)', () => {
    assert.throws(() => parseChatRequest(body), (e: unknown) => e instanceof InvalidRequestError && e.param === 'messages' && e.code === 'array_above_max_length');
  });
});

describe('checkRequestLimits: each limit, at and over it', () => {
  test('messages: the limit passes, one more is refused', () => {
    checkRequestLimits(bytes({ model: 'm', messages: msgs(3) }), LIMITS);
    assert.equal(refused({ model: 'm', messages: msgs(4) }).param, 'messages');
  });

  test('messages that are not objects count too (validation refuses them later)', () => {
    assert.equal(refused({ model: 'm', messages: [1, 'a', null, []] }).param, 'messages');
  });

  test('content parts are summed over all messages; the error names the message that went over', () => {
    const part = { type: 'text', text: 'x' };
    checkRequestLimits(bytes({ model: 'm', messages: [{ role: 'user', content: [part, part] }, { role: 'user', content: [part, part] }] }), LIMITS);
    const err = refused({ model: 'm', messages: [{ role: 'user', content: [part, part] }, { role: 'assistant', content: 'a' }, { role: 'user', content: [part, part, part] }] });
    assert.equal(err.param, 'messages[2].content');
    assert.match(err.message, /at most 4/);
  });

  test('arrays under other keys of a message are not content parts', () => {
    const call = { id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } };
    checkRequestLimits(bytes({ model: 'm', messages: [{ role: 'assistant', content: null, tool_calls: [call, call, call, call, call] }] }), LIMITS);
  });

  test('JSON values anywhere count, and the error names the top-level field that went over', () => {
    const err = refused({ model: 'm', messages: msgs(1), metadata: { deep: Array.from({ length: 300 }, (_, i) => i) } }, LIMITS, 'too_many_json_values');
    assert.equal(err.param, 'metadata');
    assert.match(err.message, /more than 200 JSON values/);
    assert.equal(refused({ model: 'm', messages: msgs(1), tools: Array.from({ length: 100 }, () => ({ type: 'function' })) }, LIMITS, 'too_many_json_values').param, 'tools');
  });

  test('an escaped key is the key it decodes to', () => {
    const body = bytes({ model: 'm', messages: msgs(4) }).toString().replace('"messages"', '"messag\\u0065s"');
    assert.equal(refused(body).param, 'messages');
  });

  test('structural bytes inside strings do not count, whitespace anywhere is fine', () => {
    const tricky = '{[,:\\"]}, \\\\" :{'.repeat(100);
    const body = `{ "model" : "m" ,\n "messages" :\t[ { "role" : "user" , "content" : ${JSON.stringify(tricky)} } ] , "x" : [ ] , "y" : { } }`;
    assert.deepEqual(checkRequestLimits(bytes(body), LIMITS), { members: 6, values: 8, depth: 3 });
  });

  test('a string longer than the inline step, with escaped quotes across the boundary', () => {
    const long = `${'a'.repeat(60)}\\"${'b'.repeat(100)}\\\\`;
    const body = `{"model":"m","messages":[{"role":"user","content":"${long}"}]}`;
    assert.equal(JSON.parse(body).messages[0].content.length, 162);
    assert.deepEqual(checkRequestLimits(bytes(body), LIMITS), { members: 4, values: 6, depth: 3 });
  });
});

describe('checkRequestLimits: counts match the parsed value for any JSON', () => {
  const open: RequestLimits = { maxMessages: 1e9, maxContentParts: 1e9, maxJsonValues: 1e9 };
  const depthOf = (v: unknown): number =>
    v === null || typeof v !== 'object' ? 0 : 1 + Math.max(0, ...(Array.isArray(v) ? v : Object.values(v)).map(depthOf));
  test('values, members and depth (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.boolean(), (v, pretty) => {
        const text = JSON.stringify(v, null, pretty ? 2 : undefined);
        const parsed: unknown = JSON.parse(text);
        assert.deepEqual(checkRequestLimits(bytes(text), open), { members: membersOf(parsed), values: valuesOf(parsed), depth: depthOf(parsed) });
      }),
      { numRuns: 500 },
    );
  });
});
