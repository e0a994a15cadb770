import { thoughtSignature, urlSafe } from '../../ids.ts';
import { formatJson, GEMINI_SSE } from '../../json-format.ts';
import type { Answer } from '../../model/responder.ts';
import { countTokens } from '../../model/tokens.ts';
import type { Reply } from '../../reply.ts';
import type { ParsedRequest } from '../provider.ts';
import { GEMINI_STREAM_ERROR } from './errors.ts';

const BASE_HEADERS = { vary: 'Origin, X-Origin, Referer', server: 'scaffolding on HTTPServer2' };

function usageMetadata(prompt: number, candidates: number): Record<string, unknown> {
  const u: Record<string, unknown> = { promptTokenCount: prompt };
  // proto3 JSON omits zero counts.
  if (candidates > 0) u['candidatesTokenCount'] = candidates;
  u['totalTokenCount'] = prompt + candidates;
  u['promptTokensDetails'] = [{ modality: 'TEXT', tokenCount: prompt }];
  return u;
}

function candidate(parts: unknown[], finishReason: string | undefined): Record<string, unknown> {
  const c: Record<string, unknown> = { content: { parts, role: 'model' } };
  if (finishReason !== undefined) c['finishReason'] = finishReason;
  c['index'] = 0;
  return c;
}

type Chunk = Record<string, unknown>;
type ChunkMaker = (parts: unknown[], finishReason: string | undefined, candidates: number) => Chunk;

function chunkMaker(a: Answer, req: ParsedRequest): ChunkMaker {
  const responseId = urlSafe(22);
  return (parts, finishReason, candidates) => ({
    candidates: [candidate(parts, finishReason)],
    usageMetadata: usageMetadata(a.promptTokens, candidates),
    modelVersion: req.conv.model,
    responseId,
  });
}

function finishOf(a: Answer): string {
  return a.finish === 'length' ? 'MAX_TOKENS' : 'STOP';
}

function callPart(a: Answer): unknown[] | undefined {
  const call = a.toolCall;
  return call === undefined ? undefined : [{ functionCall: { name: call.name, args: call.args }, thoughtSignature: thoughtSignature() }];
}

/** The generateContent body: one candidate holding the whole answer. */
function wholeResponse(a: Answer, req: ParsedRequest): Chunk {
  return chunkMaker(a, req)(callPart(a) ?? [{ text: a.text }], finishOf(a), a.outputTokens);
}

/** Stream chunks: one per text piece with cumulative usage, finish reason on the last. */
function streamChunks(a: Answer, req: ParsedRequest): Chunk[] {
  const chunk = chunkMaker(a, req);
  const call = callPart(a);
  // A call arrives whole, then the finish reason on an empty text part (recorded shape, wire README 4.4).
  if (call !== undefined) return [chunk(call, undefined, a.outputTokens), chunk([{ text: '' }], finishOf(a), a.outputTokens)];
  if (a.pieces.length === 0) return [chunk([{ text: '' }], finishOf(a), a.outputTokens)];
  let chars = 0;
  return a.pieces.map((p, i) => {
    chars += p.length;
    const last = i === a.pieces.length - 1;
    return chunk([{ text: p }], last ? finishOf(a) : undefined, last ? a.outputTokens : countTokens(chars));
  });
}

/** Encodes an answer for generateContent (pretty JSON), streamGenerateContent?alt=sse (CRLF SSE) or the JSON-array stream. */
export function renderGemini(a: Answer, req: ParsedRequest): Reply {
  if (!req.stream) {
    const body = wholeResponse(a, req);
    return { kind: 'body', status: 200, headers: { 'content-type': 'application/json; charset=UTF-8', ...BASE_HEADERS }, body: `${JSON.stringify(body, null, 2)}\n` };
  }
  const list = streamChunks(a, req);
  if (!req.sse) {
    return { kind: 'body', status: 200, headers: { 'content-type': 'application/json; charset=UTF-8', ...BASE_HEADERS }, body: `${JSON.stringify(list, null, 2)}\n` };
  }
  const events = list.map((c) => `data: ${formatJson(c, GEMINI_SSE)}\r\n\r\n`);
  return { kind: 'stream', status: 200, headers: { 'content-type': 'text/event-stream', ...BASE_HEADERS }, events, errorEvent: GEMINI_STREAM_ERROR };
}
