import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { GatewayError } from '../../src/errors/gateway-error.ts';
import { checkRequestLimits, NO_REQUEST_LIMITS } from '../../src/exchange/request-limits.ts';
import { MAX_JSON_DEPTH, assertEmbeddedJsonDepth, assertJsonDepth, nestsDeeperThan, textNestsDeeperThan } from '../../src/exchange/json-depth.ts';
import { parseChatRequest } from '../../src/exchange/parse-request.ts';

const bytes = (text: string): Buffer => Buffer.from(text);
const arrays = (d: number): string => `${'['.repeat(d)}${']'.repeat(d)}`;
const objects = (d: number): string => `${'{"a":'.repeat(d)}1${'}'.repeat(d)}`;

function refusal(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof GatewayError, String(err));
    return err;
  }
  assert.fail('expected a refusal');
}

describe('nesting depth: the byte scan', () => {
  test('counts arrays and objects, exactly at the bound', () => {
    assert.equal(nestsDeeperThan(bytes(arrays(10)), 10), false);
    assert.equal(nestsDeeperThan(bytes(arrays(11)), 10), true);
    assert.equal(nestsDeeperThan(bytes(`{"a":${objects(9)}}`), 10), false);
    assert.equal(nestsDeeperThan(bytes(`{"a":[${objects(9)}]}`), 10), true);
  });

  test('brackets inside strings, escaped quotes and non-ASCII text do not count', () => {
    const inString = `{"s":"${'['.repeat(50)}\\"${'{'.repeat(50)}","t":"é🧪\\\\","u":[1]}`;
    assert.equal(nestsDeeperThan(bytes(inString), 2), false);
    assert.equal(textNestsDeeperThan(inString, 2), false);
    assert.equal(nestsDeeperThan(bytes(`{"s":"\\\\",${'"x":'}[[1]]}`), 2), true);
  });

  test('agrees with the parsed value, whatever the strings hold (quotes, backslash runs, long ones)', () => {
    const depthOf = (v: unknown): number => (v !== null && typeof v === 'object' ? 1 + Math.max(0, ...Object.values(v).map(depthOf)) : 0);
    const unit = fc.constantFrom('\\', '"', '[', '{', ']', 'a', 'é', '🧪');
    // Short strings and ones past the scan's 32-byte inline window.
    const tricky = fc.oneof(fc.string({ unit, maxLength: 8 }), fc.string({ unit, minLength: 25, maxLength: 90 }));
    const value = fc.letrec<{ v: unknown }>((tie) => ({
      v: fc.oneof({ depthSize: 'small' }, tricky, fc.integer(), fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(tricky, tie('v'), { maxKeys: 3 })),
    })).v;
    fc.assert(
      fc.property(value, (v) => {
        const text = JSON.stringify(v);
        const d = depthOf(v);
        assert.equal(nestsDeeperThan(bytes(text), d), false);
        assert.equal(textNestsDeeperThan(text, d), false);
        if (d > 0) {
          assert.equal(nestsDeeperThan(bytes(text), d - 1), true);
          assert.equal(textNestsDeeperThan(text, d - 1), true);
        }
      }),
      { numRuns: 500 },
    );
  });

  test('siblings do not add up: depth is nesting, not count', () => {
    assert.equal(nestsDeeperThan(bytes(`[${Array.from({ length: 1000 }, () => '[[1]]').join(',')}]`), 3), false);
  });
});

describe('nesting depth: requests (robustness-deep-nesting-500)', () => {
  test('5,000 levels in an unknown field: 400 naming the field, not a stack overflow', () => {
    const body = `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}],"x_extra":${arrays(5000)}}`;
    const err = refusal(() => parseChatRequest(bytes(body)));
    assert.deepEqual({ status: err.status, param: err.param, code: err.code }, { status: 400, param: 'x_extra', code: 'nesting_too_deep' });
    assert.match(err.message, /nested deeper than 256 levels/);
  });

  test('in tool parameters and response_format, the schema is the parameter named', () => {
    const tool = `{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"p":${objects(5000)}}}}}]}`;
    assert.equal(refusal(() => parseChatRequest(bytes(tool))).param, 'tools[0].function.parameters');
    const format = `{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":${objects(50_000)}}}}`;
    assert.equal(refusal(() => parseChatRequest(bytes(format))).param, 'response_format.json_schema.schema');
    const message = `{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"user","content":[{"type":"text","text":"x","extra":${arrays(300)}}]}]}`;
    assert.equal(refusal(() => parseChatRequest(bytes(message))).param, 'messages[1]');
  });

  test('the deepest body allowed parses; deep but malformed JSON is invalid_json', () => {
    // The body object is level 1, so the field may nest MAX_JSON_DEPTH - 1 levels.
    const ok = `{"model":"m","messages":[{"role":"user","content":"hi"}],"x":${arrays(MAX_JSON_DEPTH - 1)}}`;
    assert.equal(parseChatRequest(bytes(ok)).model, 'm');
    assertJsonDepth(bytes(ok), checkRequestLimits(bytes(ok), NO_REQUEST_LIMITS).depth);
    assert.equal(refusal(() => parseChatRequest(bytes(`{"x":${'['.repeat(10_000)}`))).code, 'invalid_json');
  });

  test('JSON text inside a string (tool call arguments) is bounded the same way', () => {
    const err = refusal(() => assertEmbeddedJsonDepth(`{"a":${arrays(5000)}}`, 'messages[1].tool_calls[0].function.arguments'));
    assert.deepEqual({ status: err.status, param: err.param }, { status: 400, param: 'messages[1].tool_calls[0].function.arguments' });
    assertEmbeddedJsonDepth(`{"a":${arrays(100)}}`, 'p');
  });
});
