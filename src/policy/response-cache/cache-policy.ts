import type { ChatRequest } from '../../openai/chat-request.ts';
import type { ModelCacheMode } from './cache-config.ts';
import type { CallerCacheControl } from './cache-control.ts';

/**
 * Why a request does not read the cache; a log field and the `reason` label of
 * `gateway_cache_bypass_total`.
 * - `disabled`: the cache is off gateway-wide or for this model (`cache: off`);
 * - `not_deterministic`: `auto` and `temperature` is not 0 (absent means OpenAI's default, 1);
 * - `no_output_limit`: `auto` and neither `max_tokens` nor `max_completion_tokens` is set;
 * - `live_input`: `auto` and `web_search_options` is set (the answer depends on today's web);
 * - `provider_side_effect`: `store: true` asks the provider to keep the completion (OpenAI
 *   stored completions, for evals and distillation); a hit would silently skip that;
 * - `audio_output`: `modalities` holds `audio` or `audio` is set: OpenAI's audio answers carry
 *   an `audio.id` that expires (`expires_at`) and that later turns refer to; a replay would
 *   hand out a dead id;
 * - `no_store`, `no_cache`: the caller's `cache-control` (cache-control.ts);
 * - `store_error`: the store failed on read (set by response-cache.ts; the cache fails open).
 */
export type CacheBypassReason =
  | 'disabled'
  | 'not_deterministic'
  | 'no_output_limit'
  | 'live_input'
  | 'provider_side_effect'
  | 'audio_output'
  | 'no_store'
  | 'no_cache'
  | 'store_error';

/**
 * What the request path does with the cache for one request: `read` = look it up before
 * routing, `write` = store a clean answer afterwards. `reason` is set whenever `read` is false.
 */
export interface CacheDecision {
  readonly read: boolean;
  readonly write: boolean;
  readonly reason: CacheBypassReason | undefined;
}

/** `x-gateway-cache`: `hit` answered from the cache; `miss` looked up, not found; `bypass` not looked up (see CacheBypassReason). */
export type CacheStatus = 'hit' | 'miss' | 'bypass';

const bypass = (reason: CacheBypassReason, write = false): CacheDecision => Object.freeze({ read: false, write, reason });
const READ_WRITE: CacheDecision = Object.freeze({ read: true, write: true, reason: undefined });

/**
 * Decides per request, before routing (pure, no I/O). `request` is the parsed, validated body
 * (chatRequestSchema); `mode` the model's `cache` setting; `enabled` the gateway-wide switch.
 *
 * What `auto` deliberately allows, since the key covers it (cache-key.ts): `n` > 1 (at
 * temperature 0 the n answers are as reproducible as one), `seed`, `logprobs`/`top_logprobs`
 * (stored and replayed with the content), tools and any `tool_choice`, `response_format`,
 * `stream` and `stream_options` (a stored answer replays as JSON or SSE alike). LiteLLM and
 * Portkey cache whatever the sampling settings once caching is on; that is `on` here, and
 * `auto` keeps the default to answers a provider would itself repeat.
 */
export function decideCache(request: ChatRequest, mode: ModelCacheMode, caller: CallerCacheControl, enabled = true): CacheDecision {
  if (!enabled || mode === 'off') return bypass('disabled');
  const body = request as ChatRequest & Record<string, unknown>;
  if (body['store'] === true) return bypass('provider_side_effect');
  if (wantsAudio(body)) return bypass('audio_output');
  if (mode === 'auto') {
    if (request.temperature !== 0) return bypass('not_deterministic');
    if (request.max_tokens == null && request.max_completion_tokens == null) return bypass('no_output_limit');
    if (body['web_search_options'] != null) return bypass('live_input');
  }
  if (!caller.write) return bypass('no_store');
  if (!caller.read) return bypass('no_cache', true);
  return READ_WRITE;
}

function wantsAudio(body: Record<string, unknown>): boolean {
  const modalities = body['modalities'];
  return body['audio'] != null || (Array.isArray(modalities) && modalities.includes('audio'));
}
