import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ResponseContext, StreamContext, StreamTranslator, TargetContext } from '../../../src/dialects/dialect.ts';
import { geminiDialect } from '../../../src/dialects/gemini/index.ts';
import { chatRequestSchema, type ChatRequest } from '../../../src/openai/chat-request.ts';

/** Shared helpers for the Gemini dialect tests: fixture access and drivers. */

const WIRE = new URL('../../fixtures/wire/', import.meta.url);

export function wireBytes(relative: string): Uint8Array {
  return readFileSync(fileURLToPath(new URL(relative, WIRE)));
}

export function wireText(relative: string): string {
  return new TextDecoder().decode(wireBytes(relative));
}

export function wireJson(relative: string): unknown {
  return JSON.parse(wireText(relative));
}

export const target: TargetContext = { providerModel: 'gemini-2.5-flash', defaultMaxTokens: 1024 };
export const responseCtx: ResponseContext = { id: 'chatcmpl-test', created: 1755000000, publicModel: 'support-default' };
export const streamCtx: StreamContext = { ...responseCtx, includeUsage: true };

/** Parses through the gateway's own request schema, as the exchange does before buildRequest. */
export function chatRequest(value: unknown): ChatRequest {
  return chatRequestSchema.parse(value);
}

/** The translated request body as a JSON value. */
export function geminiBody(req: unknown): unknown {
  return JSON.parse(new TextDecoder().decode(geminiDialect.buildRequest(chatRequest(req), target).body));
}

/** Feeds `pieces` in order and returns everything the translator emitted, `end()` included. */
export function translate(pieces: Uint8Array[], ctx: StreamContext = streamCtx): { out: string; translator: StreamTranslator } {
  const translator = geminiDialect.createStreamTranslator(ctx);
  let out = '';
  for (const piece of pieces) out += translator.push(piece);
  out += translator.end();
  return { out, translator };
}

export function oneBytePieces(bytes: Uint8Array): Uint8Array[] {
  return Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
}

/** Minted ids are random; this makes two runs over the same input comparable byte for byte. */
export function withStableIds(sse: string): string {
  return sse.replace(/call_[A-Za-z0-9]{24}/g, 'call_ID');
}

/** Gemini SSE framing as the real service sends it: `data: <json>` events separated by CRLF CRLF. */
export function geminiSse(events: unknown[]): Uint8Array {
  return new TextEncoder().encode(events.map((e) => `data: ${JSON.stringify(e)}\r\n\r\n`).join(''));
}

/** A minimal user turn for request tests. */
export function userTurn(content: unknown): { role: 'user'; content: unknown } {
  return { role: 'user', content };
}
