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

/** The chunks of a response; a single-element list is the non-stream body. */
function chunks(a: Answer, req: ParsedRequest, single: boolean): Record<string, unknown>[] {
  const model = req.conv.model;
  const responseId = urlSafe(22);
  const finish = a.finish === 'length' ? 'MAX_TOKENS' : 'STOP';
  const chunk = (parts: unknown[], fin: string | undefined, candidates: number): Record<string, unknown> => ({
    candidates: [candidate(parts, fin)],
    usageMetadata: usageMetadata(a.promptTokens, candidates),
    modelVersion: model,
    responseId,
  });
  const call = a.toolCall;
  if (call !== undefined) {
    const part = { functionCall: { name: call.name, args: call.args }, thoughtSignature: thoughtSignature() };
    // Streams deliver the whole call, then the finish reason on an empty text part (recorded shape).
    return single ? [chunk([part], finish, a.outputTokens)] : [chunk([part], undefined, a.outputTokens), chunk([{ text: '' }], finish, a.outputTokens)];
  }
  if (single || a.pieces.length === 0) return [chunk([{ text: a.text }], finish, a.outputTokens)];
  const out: Record<string, unknown>[] = [];
  let chars = 0;
  a.pieces.forEach((p, i) => {
    chars += p.length;
    const last = i === a.pieces.length - 1;
    out.push(chunk([{ text: p }], last ? finish : undefined, last ? a.outputTokens : countTokens(chars)));
  });
  return out;
}

/** Encodes an answer for generateContent (pretty JSON), streamGenerateContent?alt=sse (CRLF SSE) or the JSON-array stream. */
export function renderGemini(a: Answer, req: ParsedRequest): Reply {
  if (!req.stream) {
    const [body] = chunks(a, req, true);
    return { kind: 'body', status: 200, headers: { 'content-type': 'application/json; charset=UTF-8', ...BASE_HEADERS }, body: `${JSON.stringify(body, null, 2)}\n` };
  }
  const list = chunks(a, req, false);
  if (!req.sse) {
    return { kind: 'body', status: 200, headers: { 'content-type': 'application/json; charset=UTF-8', ...BASE_HEADERS }, body: `${JSON.stringify(list, null, 2)}\n` };
  }
  const events = list.map((c) => `data: ${formatJson(c, GEMINI_SSE)}\r\n\r\n`);
  return { kind: 'stream', status: 200, headers: { 'content-type': 'text/event-stream', ...BASE_HEADERS }, events, errorEvent: GEMINI_STREAM_ERROR };
}
