import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { openaiDialect } from '../../../src/dialects/openai-compat/index.ts';
import { GatewayError } from '../../../src/errors/gateway-error.ts';
import { toOpenAIError } from '../../../src/errors/to-openai.ts';
import { parseOpenAISse } from '../../support/openai-compare.ts';
import { schemaErrors } from '../../support/openai-schema.ts';
import { oneBytePieces, splitAt } from '../../support/unit/bytes.ts';

// shared/cases/nonstandard-finish-reason, byte for byte (test/fixtures/cases/…): the right
// values are in its README.
const CASE = new URL('../../fixtures/cases/nonstandard-finish-reason/', import.meta.url);
const json = new Uint8Array(readFileSync(new URL('provider-json.json', CASE)));
const sse = new Uint8Array(readFileSync(new URL('provider-stream.sse', CASE)));

const ctx = { id: 'chatcmpl-0123456789abcdef01234567', created: 1700000000, publicModel: 'gpt-4o-mini' };
const head = { id: ctx.id, object: 'chat.completion.chunk', created: 1764460800, model: 'gpt-4o-mini' };

function translate(pieces: Uint8Array[], includeUsage: boolean): string {
  const t = openaiDialect.createStreamTranslator({ ...ctx, includeUsage });
  return pieces.map((p) => t.push(p)).join('') + t.end();
}

const payloads = (out: string) => parseOpenAISse(out).map((d) => (d === '[DONE]' ? d : (JSON.parse(d) as unknown)));

describe('case nonstandard-finish-reason', () => {
  test('provider-json.json (finish_reason "error", null usage counts) is a 502 error, never a 200 completion', () => {
    let caught: unknown;
    try {
      openaiDialect.parseResponse(json, ctx);
    } catch (err) {
      caught = err;
    }
    assert.ok(caught instanceof GatewayError, 'an error, not a completion');
    const { status, body } = toOpenAIError(caught);
    assert.equal(status, 502);
    assert.deepEqual(body.error, {
      message: 'The model provider reported an error and did not complete the response.',
      type: 'api_error',
      param: null,
      code: 'upstream_finish_error',
    });
    assert.deepEqual(schemaErrors('ErrorResponse', body), []);
  });

  test('provider-stream.sse with include_usage: "eos" → "stop", usage chunk with choices [], then [DONE]', () => {
    const out = translate([sse], true);
    assert.deepEqual(payloads(out), [
      { ...head, choices: [{ index: 0, delta: { role: 'assistant', content: 'Hi' }, logprobs: null, finish_reason: null }], usage: null },
      { ...head, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }], usage: null },
      { ...head, choices: [], usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 } },
      '[DONE]',
    ]);
    for (const p of payloads(out)) if (p !== '[DONE]') assert.deepEqual(schemaErrors('CreateChatCompletionStreamResponse', p), []);
  });

  test('provider-stream.sse without include_usage: the usage chunk the gateway forced is dropped, usage still recorded', () => {
    const t = openaiDialect.createStreamTranslator({ ...ctx, includeUsage: false });
    const out = t.push(sse) + t.end();
    assert.deepEqual(payloads(out), [
      { ...head, choices: [{ index: 0, delta: { role: 'assistant', content: 'Hi' }, logprobs: null, finish_reason: null }] },
      { ...head, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }] },
      '[DONE]',
    ]);
    assert.deepEqual(t.usage, { promptTokens: 5, completionTokens: 1 });
    assert.deepEqual(t.terminal, { kind: 'done' });
  });

  test('provider-stream.sse: whole, one byte at a time and split at every offset give identical output', () => {
    for (const includeUsage of [true, false]) {
      const whole = translate([sse], includeUsage);
      assert.equal(translate(oneBytePieces(sse), includeUsage), whole);
      for (let offset = 1; offset < sse.length; offset++) assert.equal(translate(splitAt(sse, offset), includeUsage), whole, `split at ${offset}`);
    }
  });
});
