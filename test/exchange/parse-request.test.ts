import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidRequestError } from '../../src/errors/gateway-error.ts';
import { parseChatRequest } from '../../src/exchange/parse-request.ts';

const USER = [{ role: 'user', content: 'hi' }];

function rejects(body: string | Uint8Array): InvalidRequestError {
  let caught: unknown;
  try {
    parseChatRequest(typeof body === 'string' ? Buffer.from(body) : body);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof InvalidRequestError, `expected InvalidRequestError, got ${String(caught)}`);
  assert.equal(caught.status, 400);
  assert.equal(caught.openaiType, 'invalid_request_error');
  return caught;
}

const json = (v: unknown) => JSON.stringify(v);

describe('parseChatRequest: not a JSON object', () => {
  for (const [name, body] of [
    ['empty', ''],
    ['malformed', '{"model": "m",'],
    ['array', '[1,2]'],
    ['number', '42'],
    ['string', '"hello"'],
    ['null', 'null'],
  ] as const) {
    test(`${name} → invalid_json, no param`, () => {
      const err = rejects(body);
      assert.equal(err.code, 'invalid_json');
      assert.equal(err.param, null);
    });
  }

  test('a body that is a view into a larger buffer is read from its own bytes only', () => {
    const whole = Buffer.from(`XXXX${json({ model: 'm', messages: USER })}YYYY`);
    const view = new Uint8Array(whole.buffer, whole.byteOffset + 4, whole.length - 8);
    assert.equal(parseChatRequest(view).model, 'm');
  });
});

describe('parseChatRequest: missing fields', () => {
  test('model', () => {
    const err = rejects(json({ messages: USER }));
    assert.equal(err.param, 'model');
    assert.equal(err.code, 'missing_required_parameter');
    assert.equal(err.message, "Missing required parameter: 'model'.");
  });

  test('messages', () => {
    const err = rejects(json({ model: 'm' }));
    assert.equal(err.param, 'messages');
    assert.equal(err.code, 'missing_required_parameter');
  });

  test('a nested required field: messages[0].tool_call_id', () => {
    const err = rejects(json({ model: 'm', messages: [{ role: 'tool', content: 'x' }] }));
    assert.equal(err.param, 'messages[0].tool_call_id');
    assert.equal(err.code, 'missing_required_parameter');
  });
});

describe('parseChatRequest: wrong-typed or invalid fields', () => {
  test('model is a number → invalid type, not "missing"', () => {
    const err = rejects(json({ model: 5, messages: USER }));
    assert.equal(err.param, 'model');
    assert.equal(err.code, 'invalid_value');
    assert.match(err.message, /^Invalid type for 'model'/);
  });

  test('temperature is a string', () => {
    const err = rejects(json({ model: 'm', messages: USER, temperature: 'hot' }));
    assert.equal(err.param, 'temperature');
    assert.equal(err.code, 'invalid_value');
  });

  test('messages is a string', () => {
    const err = rejects(json({ model: 'm', messages: 'hi' }));
    assert.equal(err.param, 'messages');
    assert.equal(err.code, 'invalid_value');
  });

  test('messages is empty', () => {
    const err = rejects(json({ model: 'm', messages: [] }));
    assert.equal(err.param, 'messages');
    assert.equal(err.code, 'invalid_value');
    assert.match(err.message, /empty array/);
  });

  test('unknown role names messages[0].role', () => {
    const err = rejects(json({ model: 'm', messages: [{ role: 'robot', content: 'x' }] }));
    assert.equal(err.param, 'messages[0].role');
    assert.equal(err.code, 'invalid_value');
  });

  test('stream is not a boolean', () => {
    const err = rejects(json({ model: 'm', messages: USER, stream: 'yes' }));
    assert.equal(err.param, 'stream');
    assert.equal(err.code, 'invalid_value');
  });

  test('max_tokens must be a positive integer', () => {
    const err = rejects(json({ model: 'm', messages: USER, max_tokens: 0 }));
    assert.equal(err.param, 'max_tokens');
    assert.equal(err.code, 'invalid_value');
  });
});

describe('parseChatRequest: valid', () => {
  test('unknown fields are kept, at the top and inside messages', () => {
    const req = parseChatRequest(
      Buffer.from(json({ model: 'm', messages: [{ role: 'user', content: 'hi', x_tag: 1 }], logit_bias: { '42': -100 }, vendor_extra: { a: [1] } })),
    );
    assert.deepEqual((req as Record<string, unknown>)['logit_bias'], { '42': -100 });
    assert.deepEqual((req as Record<string, unknown>)['vendor_extra'], { a: [1] });
    assert.equal((req.messages[0] as Record<string, unknown>)['x_tag'], 1);
  });

  test('null optional fields are accepted', () => {
    const req = parseChatRequest(Buffer.from(json({ model: 'm', messages: USER, stream: null, temperature: null, stop: null })));
    assert.equal(req.stream, null);
  });

  test('UTF-8 content survives', () => {
    const req = parseChatRequest(Buffer.from(json({ model: 'm', messages: [{ role: 'user', content: 'héllo 🎉' }] })));
    assert.equal(req.messages[0]!.content, 'héllo 🎉');
  });
});

test("values outside OpenAI's documented ranges are the caller's 400, naming the parameter", () => {
  for (const [param, value] of [['temperature', 7], ['temperature', -0.1], ['top_p', 1.5], ['n', 129], ['presence_penalty', 3], ['frequency_penalty', -2.5]] as const) {
    const body = Buffer.from(JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }], [param]: value }));
    assert.throws(
      () => parseChatRequest(body),
      (err: unknown) => err instanceof InvalidRequestError && err.status === 400 && err.param === param,
      `${param}: ${value}`,
    );
  }
});
