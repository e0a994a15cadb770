import type { Dialect } from '../dialects/dialect.ts';
import { UpstreamError } from '../errors/gateway-error.ts';
import { assembleCompletion } from '../openai/assemble-chunks.ts';
import { completionToChunks } from '../openai/completion-to-chunks.ts';
import type { ChatCompletion } from '../openai/chat-response.ts';
import type { Usage } from '../openai/usage.ts';
import { usageCostFor } from '../pricing/usage-cost.ts';
import type { Exchange } from './exchange.ts';

/**
 * How a successful provider answer reaches the caller, from its content type and whether the
 * caller asked to stream:
 * - `stream`: SSE for a stream request, translated chunk by chunk (STREAMED body);
 * - `json`: JSON for a non-stream request, translated whole;
 * - `assemble`: SSE for a non-stream request, its chunks assembled into one chat.completion;
 * - `wrap`: JSON for a stream request, sent as a chunk sequence and `[DONE]`;
 * - `unreadable`: anything else (an HTML page, no or an unknown content type): a 502.
 */
export type ResponseShape = 'stream' | 'json' | 'assemble' | 'wrap' | 'unreadable';

const SSE = /^text\/event-stream\b/i;
const JSON_TYPE = /^application\/(?:[\w.+-]*\+)?json\b/i;

export function responseShape(contentType: string, callerStreams: boolean): ResponseShape {
  if (SSE.test(contentType)) return callerStreams ? 'stream' : 'assemble';
  if (JSON_TYPE.test(contentType)) return callerStreams ? 'wrap' : 'json';
  return 'unreadable';
}

/** The content type the caller gets for a successful answer of this shape. */
export function callerContentType(shape: ResponseShape): string {
  return shape === 'stream' || shape === 'wrap' ? 'text/event-stream; charset=utf-8' : 'application/json';
}

export function unreadableAnswer(): UpstreamError {
  return new UpstreamError(502, 'api_error', 'The model provider answered in a format the gateway cannot read.', { code: 'upstream_malformed' });
}

/** `usage.cost` (USD) on the answer when the key opted in (src/pricing/usage-cost.ts), as OpenRouter puts it in JSON answers too. */
function addUsageCost(completion: ChatCompletion, usage: Usage | undefined, ex: Exchange): void {
  const costOf = usage && completion.usage ? usageCostFor(ex) : undefined;
  if (costOf) completion.usage = { ...completion.usage!, cost: costOf(usage!) };
}

/**
 * A whole (BUFFERED) 2xx body in OpenAI format for the caller, and its usage. Throws a
 * GatewayError when the body is not a usable answer (the caller then gets an error status).
 */
export function translateBufferedAnswer(shape: ResponseShape, dialect: Dialect, body: Uint8Array, ex: Exchange): { body: string; usage: Usage | undefined } {
  const label = { id: ex.completionId, created: ex.created, publicModel: ex.model!.name };
  // Claude's thinking of a tool-calling answer, kept for the loop's next request (policy/thinking-step.ts).
  const onThinking = ex.anthropicThinking?.onThinking;
  const ctx = onThinking ? { ...label, onThinking } : label;
  if (shape === 'assemble') {
    // A local translator, not ex.translator: this answer is settled as a buffered one.
    const translator = dialect.createStreamTranslator({ ...ctx, includeUsage: true });
    const completion = assembleCompletion(translator, body, label);
    addUsageCost(completion, translator.usage, ex);
    return { body: JSON.stringify(completion), usage: translator.usage };
  }
  const { completion, usage } = dialect.parseResponse(body, ctx);
  addUsageCost(completion, usage, ex);
  if (shape === 'wrap') return { body: completionToChunks(completion, { ...label, includeUsage: ex.includeUsage }), usage };
  return { body: JSON.stringify(completion), usage };
}
