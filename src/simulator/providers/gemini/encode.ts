import { urlSafe } from '../../ids.ts';
import { formatJson, GEMINI_SSE } from '../../json-format.ts';
import type { Answer } from '../../model/responder.ts';
import { countTokens } from '../../model/tokens.ts';
import type { Reply } from '../../reply.ts';
import type { ParsedRequest } from '../provider.ts';
import { GEMINI_STREAM_ERROR } from './errors.ts';
import { mintThoughtSignature } from './thought-signature.ts';

const BASE_HEADERS = { vary: 'Origin, X-Origin, Referer', server: 'scaffolding on HTTPServer2' };

function usageMetadata(prompt: number, candidates: number): Record<string, unknown> {
  const u: Record<string, unknown> = { promptTokenCount: prompt };
  // proto3 JSON omits zero counts.
  if (candidates > 0) u['candidatesTokenCount'] = candidates;
  u['totalTokenCount'] = prompt + candidates;
  u['promptTokensDetails'] = [{ modality: 'TEXT', tokenCount: prompt }];
  return u;
}

function candidate(parts: unknown[], finishReason: string | undefined, index: number): Record<string, unknown> {
  const c: Record<string, unknown> = { content: { parts, role: 'model' } };
  if (finishReason !== undefined) c['finishReason'] = finishReason;
  c['index'] = index;
  return c;
}

type Chunk = Record<string, unknown>;

/** One candidate's share of a stream chunk; `tokens` are that candidate's output so far. */
interface Step {
  readonly parts: unknown[];
  readonly finish: string | undefined;
  readonly tokens: number;
}

function chunkMaker(answers: readonly Answer[], req: ParsedRequest): (candidates: Chunk[], outputTokens: number) => Chunk {
  const responseId = urlSafe(22);
  const prompt = answers[0]?.promptTokens ?? 0;
  return (candidates, outputTokens) => ({
    candidates,
    usageMetadata: usageMetadata(prompt, outputTokens),
    modelVersion: req.conv.model,
    responseId,
  });
}

function finishOf(a: Answer): string {
  return a.finish === 'length' ? 'MAX_TOKENS' : 'STOP';
}

function callPart(a: Answer): unknown[] | undefined {
  const call = a.toolCall;
  return call === undefined ? undefined : [{ functionCall: { name: call.name, args: call.args }, thoughtSignature: mintThoughtSignature() }];
}

const totalOutput = (answers: readonly Answer[]): number => answers.reduce((sum, a) => sum + a.outputTokens, 0);

/** The generateContent body: one candidate per answer, each holding the whole answer. */
function wholeResponse(answers: readonly Answer[], req: ParsedRequest): Chunk {
  const candidates = answers.map((a, i) => candidate(callPart(a) ?? [{ text: a.text }], finishOf(a), i));
  return chunkMaker(answers, req)(candidates, totalOutput(answers));
}

/** One candidate's stream: one step per text piece, finish reason on the last. */
function steps(a: Answer): Step[] {
  const call = callPart(a);
  // A call arrives whole, then the finish reason on an empty text part (recorded shape, wire README 4.4).
  if (call !== undefined) return [{ parts: call, finish: undefined, tokens: a.outputTokens }, { parts: [{ text: '' }], finish: finishOf(a), tokens: a.outputTokens }];
  if (a.pieces.length === 0) return [{ parts: [{ text: '' }], finish: finishOf(a), tokens: a.outputTokens }];
  let chars = 0;
  return a.pieces.map((p, i) => {
    chars += p.length;
    const last = i === a.pieces.length - 1;
    return { parts: [{ text: p }], finish: last ? finishOf(a) : undefined, tokens: last ? a.outputTokens : countTokens(chars) };
  });
}

/**
 * Stream chunks: chunk k carries step k of every candidate that has one (with its `index`), and
 * usage summed over the candidates so far (cumulative, as Gemini reports it).
 */
function streamChunks(answers: readonly Answer[], req: ParsedRequest): Chunk[] {
  const chunk = chunkMaker(answers, req);
  const perCandidate = answers.map(steps);
  const length = Math.max(...perCandidate.map((s) => s.length));
  const out: Chunk[] = [];
  for (let k = 0; k < length; k++) {
    const candidates: Chunk[] = [];
    let tokens = 0;
    perCandidate.forEach((list, index) => {
      const step = list[k];
      if (step !== undefined) candidates.push(candidate(step.parts, step.finish, index));
      tokens += (step ?? list[list.length - 1])?.tokens ?? 0;
    });
    out.push(chunk(candidates, tokens));
  }
  return out;
}

/**
 * Encodes the answers (one per candidate) for generateContent (pretty JSON),
 * streamGenerateContent?alt=sse (CRLF SSE) or the JSON-array stream.
 */
export function renderGemini(answers: readonly Answer[], req: ParsedRequest): Reply {
  if (!req.stream) {
    const body = wholeResponse(answers, req);
    return { kind: 'body', status: 200, headers: { 'content-type': 'application/json; charset=UTF-8', ...BASE_HEADERS }, body: `${JSON.stringify(body, null, 2)}\n` };
  }
  const list = streamChunks(answers, req);
  if (!req.sse) {
    return { kind: 'body', status: 200, headers: { 'content-type': 'application/json; charset=UTF-8', ...BASE_HEADERS }, body: `${JSON.stringify(list, null, 2)}\n` };
  }
  const events = list.map((c) => `data: ${formatJson(c, GEMINI_SSE)}\r\n\r\n`);
  return { kind: 'stream', status: 200, headers: { 'content-type': 'text/event-stream', ...BASE_HEADERS }, events, errorEvent: GEMINI_STREAM_ERROR };
}
