import type { StreamTranslator } from '../dialects/dialect.ts';
import { estimateTokens } from '../lib/token-estimate.ts';
import type { ChatRequest } from '../openai/chat-request.ts';
import type { Exchange } from './exchange.ts';
import type { Outcome, TokenEstimates } from './finish.ts';

/** Parts whose strings are media bytes or references, not text a tokenizer reads. */
const MEDIA_KEYS: ReadonlySet<string> = new Set(['image_url', 'input_audio', 'file', 'audio']);

function textLength(value: unknown): number {
  if (typeof value === 'string') return value.length;
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + textLength(v), 0);
  if (typeof value !== 'object' || value === null) return 0;
  let n = 0;
  for (const [key, v] of Object.entries(value)) if (!MEDIA_KEYS.has(key)) n += textLength(v);
  return n;
}

/**
 * The gateway's estimate of a request's input tokens, for a provider that counts them only at
 * the end of its stream (OpenAI-compatible): `estimateTokens` of every string in `messages`,
 * `tools` and `response_format` (role names and JSON keys of tool schemas included, media left
 * out), at least 1.
 */
export function estimatePromptTokens(req: ChatRequest | undefined): number {
  if (!req) return 1;
  return Math.max(1, estimateTokens(textLength(req.messages) + textLength(req.tools) + textLength(req.response_format)));
}

/**
 * Settles a streamed exchange from what its translator wrote to the caller, whatever happened
 * to the connection afterwards:
 * - `[DONE]` written: `completed`, with the usage the gateway reported (or would have reported)
 *   to the caller;
 * - an error event written: `failed`, with that error's status and code;
 * - neither (the caller or the upstream went away first): `aborted`.
 * A failed or aborted stream, and a complete one whose provider never sent usage, carries the
 * tokens so far (StreamTranslator.tokensSoFar), the missing input count estimated from the
 * request. Records usage, status and error code on `ex`; returns the outcome and which counts are estimates.
 */
export function settleStream(ex: Exchange, translator: StreamTranslator): { outcome: Outcome; estimated: TokenEstimates } {
  const terminal = translator.terminal;
  let outcome: Outcome = 'aborted';
  if (terminal?.kind === 'done') {
    outcome = 'completed';
    const usage = translator.usage;
    if (usage !== undefined) {
      ex.usage = usage;
      return { outcome, estimated: { input: false, output: false } };
    }
  } else if (terminal?.kind === 'error') {
    outcome = 'failed';
    ex.status = terminal.error.status;
    ex.errorCode = terminal.error.code ?? terminal.error.openaiType;
  }
  const so = translator.tokensSoFar();
  ex.usage = {
    promptTokens: so.promptTokens ?? ex.promptTokenEstimate(),
    completionTokens: so.completionTokens,
    ...(so.cachedTokens !== undefined ? { cachedTokens: so.cachedTokens } : {}),
  };
  return { outcome, estimated: { input: so.promptTokens === undefined, output: so.completionEstimated } };
}
