import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { InvalidRequestError } from '../../src/errors/gateway-error.ts';
import { countMembers, findDuplicateKey } from '../../src/exchange/duplicate-keys.ts';
import { parseChatRequest } from '../../src/exchange/parse-request.ts';

function refused(body: string): InvalidRequestError {
  let caught: unknown;
  try {
    parseChatRequest(Buffer.from(body));
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof InvalidRequestError, `expected a 400, got ${String(caught)}`);
  assert.equal(caught.status, 400);
  assert.equal(caught.code, 'invalid_json');
  return caught;
}

/** Reference count, recursive (the one under test is iterative). */
function membersOf(v: unknown): number {
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + membersOf(x), 0);
  if (v !== null && typeof v === 'object') return Object.values(v).reduce((n: number, x) => n + 1 + membersOf(x), 0);
  return 0;
}

const USER = '[{"role":"user","content":"Hello"}]';

describe('duplicate keys are refused, naming the key path', () => {
  test('the robustness case: two models, the last one allowed', () => {
    const err = refused(`{"model":"o1-pro","messages":${USER},"model":"gpt-4o-mini"}`);
    assert.equal(err.param, 'model');
    assert.match(err.message, /'model' more than once/);
  });

  for (const [name, body, param] of [
    ['stream', `{"model":"m","stream":true,"messages":${USER},"stream":false}`, 'stream'],
    ['stream_options', `{"model":"m","stream":true,"stream_options":{"include_usage":true,"include_usage":false},"messages":${USER}}`, 'stream_options.include_usage'],
    ['a message role', '{"model":"m","messages":[{"role":"user","content":"a"},{"role":"system","content":"b","role":"user"}]}', 'messages[1].role'],
    ['a content part', '{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a","text":"b"}]}]}', 'messages[0].content[0].text'],
    ['a tool schema', `{"model":"m","messages":${USER},"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"x":{},"y":{},"x":{"type":"string"}}}}}]}`, 'tools[0].function.parameters.properties.x'],
    ['an unknown field', `{"model":"m","messages":${USER},"extra":{"a":[{"k":1,"k":2}]}}`, 'extra.a[0].k'],
    ['two spellings of one key', `{"model":"m","messages":${USER},"m\\u006fdel":"x"}`, 'model'],
    ['__proto__', `{"__proto__":1,"model":"m","messages":${USER},"__proto__":{}}`, '__proto__'],
  ] as const) {
    test(name, () => assert.equal(refused(body).param, param));
  }

  test('a duplicate inside a string value, the same key in sibling objects, a key equal to a value: all fine', () => {
    const body = '{"model":"m","messages":[{"role":"user","content":"{\\"model\\":1,\\"model\\":2}"},{"role":"user","content":"role"}],"metadata":{"model":"model"}}';
    assert.equal(parseChatRequest(Buffer.from(body)).messages.length, 2);
  });
});

describe('findDuplicateKey and countMembers on any JSON', () => {
  test('no false positives, and member counts match (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const text = JSON.stringify(v);
        assert.equal(findDuplicateKey(text), undefined);
        const parsed: unknown = JSON.parse(text);
        assert.equal(countMembers(parsed), membersOf(parsed));
      }),
      { numRuns: 500 },
    );
  });

  test('a repeated key anywhere is found at its path (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string(), (v, key) => {
        // Wrap the value so that the duplicate sits two levels down, after arbitrary content.
        const k = JSON.stringify(key);
        const text = `{"a":[${JSON.stringify(v)},{${k}:1,"b":${JSON.stringify(v)},${k}:2}]}`;
        assert.deepEqual(findDuplicateKey(text), ['a', 1, key]);
      }),
      { numRuns: 300 },
    );
  });
});
