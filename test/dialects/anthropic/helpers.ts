import assert from 'node:assert/strict';
import { wireText as fixtureText } from '../../support/unit/bytes.ts';
import { anthropicDialect } from '../../../src/dialects/anthropic/index.ts';
import type { StreamContext, TargetContext } from '../../../src/dialects/dialect.ts';
import { GatewayError } from '../../../src/errors/gateway-error.ts';
import { chatRequestSchema, type ChatRequest } from '../../../src/openai/chat-request.ts';

/** Shared fixtures and drivers for the Anthropic dialect tests. */
export { wireBytes as fixtureBytes, wireText as fixtureText } from '../../support/unit/bytes.ts';

export function fixtureJson(relative: string): unknown {
  return JSON.parse(fixtureText(relative));
}

export const TARGET: TargetContext = { providerModel: 'claude-sonnet-4-5-20250929', defaultMaxTokens: 1024 };

export function streamContext(includeUsage = true): StreamContext {
  return { id: 'chatcmpl-test', created: 1755000000, publicModel: 'support-default', includeUsage };
}

/** Feeds `pieces` in order to a fresh translator and returns everything it emitted. */
export function translateStream(pieces: readonly Uint8Array[], ctx: StreamContext = streamContext()): string {
  const translator = anthropicDialect.createStreamTranslator(ctx);
  let out = '';
  for (const piece of pieces) out += translator.push(piece);
  return out + translator.end();
}

export function bytesOf(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function oneBytePieces(bytes: Uint8Array): Uint8Array[] {
  return Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
}

/** Cuts `bytes` at the given offsets (any order, duplicates allowed). */
export function splitAt(bytes: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const cuts = [...new Set(offsets)].filter((o) => o > 0 && o < bytes.length).sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    pieces.push(bytes.subarray(start, cut));
    start = cut;
  }
  return pieces;
}

/** A valid OpenAI request: the object is validated like the gateway validates it. */
export function chatRequest(body: Record<string, unknown>): ChatRequest {
  return chatRequestSchema.parse({ model: 'support-default', ...body });
}

/** The Anthropic request body built for `body`, as a JSON value. */
export function anthropicBody(body: Record<string, unknown>, target: TargetContext = TARGET): Record<string, unknown> {
  const upstream = anthropicDialect.buildRequest(chatRequest(body), target);
  const value: unknown = JSON.parse(new TextDecoder().decode(upstream.body));
  assert.ok(typeof value === 'object' && value !== null && !Array.isArray(value));
  return value as Record<string, unknown>;
}

/** Asserts that building `body` fails with a 400 naming `param`. */
export function assertInvalid(body: Record<string, unknown>, param: string): void {
  assert.throws(
    () => anthropicDialect.buildRequest(chatRequest(body), TARGET),
    (err: unknown) => {
      assert.ok(err instanceof GatewayError, `expected a GatewayError, got ${String(err)}`);
      assert.equal(err.status, 400);
      assert.equal(err.openaiType, 'invalid_request_error');
      assert.equal(err.param, param);
      assert.ok(err.message.length > 0);
      return true;
    },
  );
}

/** Anthropic SSE framing for one event, as the API sends it (wire README 3.4). */
export function sseEvent(data: { type: string } & Record<string, unknown>): string {
  return `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`;
}

export function messageStart(input = 10, output = 1): string {
  return sseEvent({
    type: 'message_start',
    message: {
      id: 'msg_test',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5-20250929',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: input, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: output },
    },
  });
}

export function messageEnd(stopReason: string, output = 5): string {
  return (
    sseEvent({ type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: output } }) +
    sseEvent({ type: 'message_stop' })
  );
}

/** The JSON payloads of an OpenAI SSE stream, `[DONE]` as the string. */
export function openAIEvents(sse: string): unknown[] {
  return sse
    .split('\n\n')
    .filter((e) => e !== '')
    .map((e) => {
      assert.ok(e.startsWith('data: '), `not a data event: ${e}`);
      const data = e.slice('data: '.length);
      return data === '[DONE]' ? data : (JSON.parse(data) as unknown);
    });
}
