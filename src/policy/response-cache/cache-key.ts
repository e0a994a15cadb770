import { createHash } from 'node:crypto';
import { chatRequestSchema, type ChatRequest } from '../../openai/chat-request.ts';
import { canonicalJson } from './canonical-json.ts';

/** Bumped when the key material or the entry format changes, so old entries are never read. */
export const CACHE_SCHEMA_VERSION = 1;

/**
 * Request fields that cannot change the answer, left out of the key so that they do not split
 * the cache. Every other field is in it, known or not: a field the gateway does not know (a
 * provider's extension, a new OpenAI parameter) may change the output.
 * - `model`: replaced by the resolved public model (an alias and its model share entries);
 * - `stream`, `stream_options`: framing only; a stored answer replays as JSON or SSE;
 * - `user`, `safety_identifier`: abuse-monitoring ids, not inputs to the model;
 * - `store`, `metadata`: whether and how the provider keeps the completion (`store: true`
 *   bypasses the cache anyway, cache-policy.ts);
 * - `prompt_cache_key`, `prompt_cache_retention`: hints for the provider's prompt cache,
 *   which changes cost and latency, not the answer.
 */
export const FIELDS_NOT_IN_KEY: ReadonlySet<string> = new Set([
  'model',
  'stream',
  'stream_options',
  'user',
  'safety_identifier',
  'store',
  'metadata',
  'prompt_cache_key',
  'prompt_cache_retention',
]);

/** Top-level fields OpenAI documents as nullable: `null` means the default, as if absent. */
const KNOWN_FIELDS: ReadonlySet<string> = new Set(Object.keys(chatRequestSchema.shape));

export interface CacheKeyInput {
  /** The caller's team: entries are never shared across teams. */
  readonly team: string;
  /** The public model the request resolved to (not the alias the caller wrote). */
  readonly publicModel: string;
  /** The parsed, validated body. */
  readonly request: ChatRequest;
  /**
   * Caller headers the gateway forwards to the provider (a provider's `forwardHeaders`, e.g.
   * `anthropic-beta`), which can change the answer. Names are compared lower-cased.
   */
  readonly forwardedHeaders?: Readonly<Record<string, string>>;
}

/**
 * The storage key of a request's answer: `cache:{t:<team>}:<64 hex>`, where the hex is
 * SHA-256 over the canonical JSON (RFC 8785, canonical-json.ts: member order and number
 * spelling do not matter) of the schema version, team, public model, forwarded headers and
 * every body field but FIELDS_NOT_IN_KEY. Top-level `null` on a known field counts as absent.
 * The `{t:<team>}` hash tag (team URL-encoded, so it holds no `}`) keeps one team's entries
 * on one Redis Cluster shard; the team is also inside the hash, so the prefix is never what
 * separates teams.
 */
export function cacheKey(input: CacheKeyInput): string {
  const body: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(input.request as Record<string, unknown>)) {
    if (FIELDS_NOT_IN_KEY.has(field) || (value === null && KNOWN_FIELDS.has(field))) continue;
    body[field] = value;
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.forwardedHeaders ?? {})) headers[name.toLowerCase()] = value;
  const material = canonicalJson({ v: CACHE_SCHEMA_VERSION, team: input.team, model: input.publicModel, headers, body });
  const hex = createHash('sha256').update(material).digest('hex');
  return `cache:{t:${encodeURIComponent(input.team)}}:${hex}`;
}
