import assert from 'node:assert/strict';
import { GatewayError } from '../../src/errors/gateway-error.ts';
import { toOpenAIError } from '../../src/errors/to-openai.ts';
import { parseOpenAISse } from '../support/openai-compare.ts';
import { schemaErrors } from '../support/openai-schema.ts';

/**
 * What every stream the gateway writes must be, whatever the provider sent (issue 7 item 2):
 * each chunk validates against the OpenAI schema, or is an OpenAI error event; the stream ends
 * with `[DONE]` or one error event and nothing after; one id and one `created`; when it ends
 * with `[DONE]`, every choice has exactly one finish reason and began with `role: "assistant"`;
 * usage only when asked: then `usage` on every chunk, non-null only on the last one, which has
 * `choices: []`; without it no chunk carries the key.
 */
export function assertValidStream(out: string, includeUsage: boolean): void {
  const problems: string[] = [];
  const payloads = parseOpenAISse(out, problems);
  assert.deepEqual(problems, [], 'framing');
  assert.ok(payloads.length > 0, 'an empty stream');
  const last = payloads.at(-1)!;
  const chunks = payloads.slice(0, -1).map((p) => JSON.parse(p) as Record<string, unknown>);
  for (const c of chunks) assert.deepEqual(schemaErrors('CreateChatCompletionStreamResponse', c), [], JSON.stringify(c));
  assert.equal(payloads.slice(0, -1).includes('[DONE]'), false, 'nothing after [DONE]');
  assert.equal(new Set(chunks.map((c) => c['id'])).size <= 1, true, 'one id');
  assert.equal(new Set(chunks.map((c) => c['created'])).size <= 1, true, 'one created');
  if (includeUsage) {
    for (const c of chunks) assert.ok('usage' in c, 'usage key on every chunk');
    chunks.slice(0, -1).forEach((c) => assert.equal(c['usage'], null, 'usage only on the last chunk'));
  } else {
    for (const c of chunks) assert.equal('usage' in c, false, 'no usage key unless asked');
  }
  const usageChunk = chunks.find((c) => c['usage'] !== null && c['usage'] !== undefined);
  if (usageChunk) assert.deepEqual(usageChunk['choices'], [], 'the usage chunk has choices []');
  if (last !== '[DONE]') {
    const error = JSON.parse(last) as unknown;
    assert.deepEqual(schemaErrors('ErrorResponse', error), [], `the last event is [DONE] or an error event: ${last}`);
    return;
  }
  const finishes = new Map<number, number>();
  const firstDelta = new Map<number, Record<string, unknown>>();
  for (const c of chunks) {
    for (const choice of c['choices'] as Array<{ index: number; delta: Record<string, unknown>; finish_reason: string | null }>) {
      if (!firstDelta.has(choice.index)) firstDelta.set(choice.index, choice.delta);
      if (choice.finish_reason !== null) finishes.set(choice.index, (finishes.get(choice.index) ?? 0) + 1);
    }
  }
  assert.ok(firstDelta.size > 0, 'a [DONE] stream has an answer');
  for (const [index, delta] of firstDelta) {
    assert.equal(delta['role'], 'assistant', `choice ${index} opens with the role`);
    assert.equal(finishes.get(index), 1, `choice ${index}: exactly one finish reason`);
  }
}

/** A non-stream outcome: a completion that validates, or a GatewayError whose OpenAI body validates and whose status is an error. */
export function assertValidOutcome(run: () => unknown): 'completion' | 'error' {
  let value: unknown;
  try {
    value = run();
  } catch (err) {
    assert.ok(err instanceof GatewayError, `threw something else than a GatewayError: ${String(err)}`);
    const { status, body } = toOpenAIError(err);
    assert.ok(status >= 400, `error status ${status}`);
    assert.deepEqual(schemaErrors('ErrorResponse', body), []);
    return 'error';
  }
  assert.deepEqual(schemaErrors('CreateChatCompletionResponse', value), [], JSON.stringify(value));
  return 'completion';
}

/** Cuts bytes at the given offsets (taken modulo the length). */
export function cut(bytes: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const points = [...new Set(offsets.map((o) => o % (bytes.length + 1)))].filter((o) => o > 0 && o < bytes.length).sort((a, b) => a - b);
  return [0, ...points].map((from, i) => bytes.subarray(from, [...points, bytes.length][i]));
}
