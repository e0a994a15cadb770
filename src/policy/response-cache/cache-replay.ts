import type { ChatCompletion } from '../../openai/chat-response.ts';
import { completionToChunks } from '../../openai/completion-to-chunks.ts';
import type { GatewayReply } from '../pipeline.ts';
import type { CacheEntry } from './cache-entry.ts';

/** Who the replayed answer is, as this request's caller sees it. */
export interface ReplayLabel {
  /** This request's completion id (Exchange.completionId). */
  readonly id: string;
  /** Unix seconds, this request's (Exchange.created). */
  readonly created: number;
  /** The public model the caller asked for, as every other answer names it. */
  readonly publicModel: string;
  /** The caller sent `stream: true`. */
  readonly stream: boolean;
  /** The caller sent `stream_options.include_usage: true` (streams only). */
  readonly includeUsage: boolean;
  /** The caller's key opted in to `usage.cost` (src/pricing/usage-cost.ts): a hit reports cost 0, what it is charged. */
  readonly usageCost?: boolean;
}

/**
 * The stored answer as this request's own: the cached choices, usage and
 * `system_fingerprint` unchanged; a new `id` and `created`, because OpenAI's `id` names one
 * response (callers and log pipelines de-duplicate by it) and `created` is when this response
 * was made. How old the answer is travels in the standard HTTP `age` header (RFC 9111 §5.1).
 * Tool-call ids are kept: a follow-up turn quoting them is then itself the same request for
 * every caller, and so cacheable.
 */
export function replayCompletion(entry: CacheEntry, label: ReplayLabel): ChatCompletion {
  const completion = { ...entry.completion, id: label.id, created: label.created, model: label.publicModel };
  // A stored `cost` is what another request paid: never replayed; an opted-in key is told 0.
  if (completion.usage) {
    const { cost: _stored, ...usage } = completion.usage;
    completion.usage = label.usageCost === true ? { ...usage, cost: 0 } : usage;
  }
  return completion;
}

/**
 * The ext_proc ImmediateResponse for a hit: 200 with the completion as JSON, or, for a
 * streaming request, a complete SSE body (completion-to-chunks.ts: role and content chunk,
 * tool-call chunk, finish chunk per choice, the usage chunk when `include_usage`, then
 * `data: [DONE]`). Headers: `content-type`, `x-gateway-cache: hit`, `age` (whole seconds since
 * the entry was stored, `now` in ms).
 */
export function replayReply(entry: CacheEntry, label: ReplayLabel, now = Date.now()): GatewayReply {
  const completion = replayCompletion(entry, label);
  const headers = { 'x-gateway-cache': 'hit', age: String(Math.max(0, Math.floor((now - entry.storedAt) / 1000))) };
  if (!label.stream) {
    return { status: 200, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(completion), details: 'llm_extproc_cache_hit' };
  }
  const body = completionToChunks(completion, { id: label.id, created: label.created, publicModel: label.publicModel, includeUsage: label.includeUsage });
  return { status: 200, headers: { 'content-type': 'text/event-stream; charset=utf-8', ...headers }, body, details: 'llm_extproc_cache_hit' };
}
