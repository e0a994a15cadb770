import type { ChatCompletion } from '../../openai/chat-response.ts';
import { isRecord } from '../../openai/schema-parts.ts';
import { CACHE_SCHEMA_VERSION } from './cache-key.ts';

/**
 * Why an answer is not stored; a log field and the `reason` label of
 * `gateway_cache_store_skipped_total`.
 * - `upstream_error`: anything but a 200 answer, or an error event in a stream;
 * - `truncated`: a stream that ended without `data: [DONE]` (cut off, client gone);
 * - `unfinished`: a choice without a finish reason;
 * - `content_filter`: a choice the provider's filter cut (the same prompt may pass later, and
 *   a filtered answer must not outlive a filter change);
 * - `partial_tool_call`: a tool call without id or name, or whose function arguments are not
 *   JSON (what a cut-off or `length`-stopped tool call looks like);
 * - `no_usage`: no token usage to replay to a stream caller or to count as saved;
 * - `no_choices`: nothing to replay; `too_large`: over `maxEntryBytes`;
 * - `malformed`: the body is not a chat.completion.
 */
export type NotStoredReason =
  | 'upstream_error'
  | 'truncated'
  | 'unfinished'
  | 'content_filter'
  | 'partial_tool_call'
  | 'no_usage'
  | 'no_choices'
  | 'too_large'
  | 'malformed';

/** A stored answer: the normalized completion (usage included) and when it was stored. */
export interface CacheEntry {
  readonly completion: ChatCompletion;
  /** Unix time in ms. */
  readonly storedAt: number;
}

/** Undefined when `completion` may be stored, else why not (checks only the completion itself). */
export function whyNotStorable(completion: ChatCompletion): NotStoredReason | undefined {
  if (!Array.isArray(completion.choices) || completion.choices.length === 0) return 'no_choices';
  for (const choice of completion.choices) {
    if (choice.finish_reason === null || choice.finish_reason === undefined) return 'unfinished';
    if (choice.finish_reason === 'content_filter') return 'content_filter';
    for (const call of choice.message.tool_calls ?? []) if (isPartialToolCall(call)) return 'partial_tool_call';
  }
  if (!completion.usage || typeof completion.usage.prompt_tokens !== 'number') return 'no_usage';
  return undefined;
}

function isPartialToolCall(call: unknown): boolean {
  if (!isRecord(call) || typeof call['id'] !== 'string' || call['id'] === '') return true;
  // Custom tools (type "custom") carry free text in `custom.input`; only function arguments are JSON.
  if (call['type'] !== 'function') return false;
  const fn = call['function'];
  if (!isRecord(fn) || typeof fn['name'] !== 'string' || fn['name'] === '' || typeof fn['arguments'] !== 'string') return true;
  if (fn['arguments'] === '') return false;
  try {
    JSON.parse(fn['arguments']);
    return false;
  } catch {
    return true;
  }
}

/**
 * The entry's bytes (UTF-8 JSON `{"v":<schema version>,"at":<ms>,"completion":{…}}`), or why
 * it is not stored. `maxBytes` bounds the encoding (ResponseCacheSettings.maxEntryBytes).
 */
export function encodeEntry(completion: ChatCompletion, maxBytes: number, now = Date.now()): { bytes: Uint8Array } | { reason: NotStoredReason } {
  const reason = whyNotStorable(completion);
  if (reason) return { reason };
  const bytes = Buffer.from(JSON.stringify({ v: CACHE_SCHEMA_VERSION, at: now, completion }));
  return bytes.byteLength > maxBytes ? { reason: 'too_large' } : { bytes };
}

/**
 * The entry in `bytes`, or undefined when they are not one this version wrote (another
 * schema version, corrupt bytes): the request path treats that as a miss, never an error.
 */
export function decodeEntry(bytes: Uint8Array): CacheEntry | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isRecord(parsed) || parsed['v'] !== CACHE_SCHEMA_VERSION || typeof parsed['at'] !== 'number') return undefined;
  const completion = parsed['completion'];
  if (!isCompletion(completion) || whyNotStorable(completion) !== undefined) return undefined;
  return { completion, storedAt: parsed['at'] };
}

/**
 * A JSON answer body the gateway sent its caller (already in OpenAI format), as a completion;
 * undefined when it is not one. For the request path's non-stream store.
 */
export function completionFromBody(body: Uint8Array | string): ChatCompletion | undefined {
  try {
    const parsed: unknown = JSON.parse(typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
    return isCompletion(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function isCompletion(value: unknown): value is ChatCompletion {
  return (
    isRecord(value) &&
    value['object'] === 'chat.completion' &&
    Array.isArray(value['choices']) &&
    value['choices'].every((c) => isRecord(c) && typeof c['index'] === 'number' && isRecord(c['message']))
  );
}
