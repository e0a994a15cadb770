import type { ChatRequest } from '../../openai/chat-request.ts';
import type { TargetContext, UpstreamRequest } from '../dialect.ts';
import { fitsOpenAI, remapToolCallIds } from '../tool-call-ids.ts';

const JSON_HEADERS = Object.freeze({ 'content-type': 'application/json' });
const EMPTY = new Uint8Array(0);

/**
 * OpenAI-compatible providers take the caller's body as is, except: the provider's model name,
 * `stream_options.include_usage` forced on for streams so that every stream reports usage
 * (the translator removes the usage chunk again when the caller did not ask for it), and
 * tool-call ids over OpenAI's 40 characters (e.g. the gateway's Gemini ids, which carry a
 * thought signature) replaced by a hash of the id in `tool_calls` and `tool` messages alike
 * (`../tool-call-ids.ts`). The ids are checked on the already parsed request, so the common
 * case still sends the caller's bytes untouched. That is safe because those bytes have one
 * reading only: a body with a duplicate key is refused before this (exchange/duplicate-keys.ts),
 * so the provider parses the very model and fields the gateway checked.
 */
export function buildOpenAIRequest(req: ChatRequest, target: TargetContext): UpstreamRequest {
  const forceUsage = req.stream === true && req.stream_options?.include_usage !== true;
  const messages = remapToolCallIds(req.messages, fitsOpenAI);
  if (req.model === target.providerModel && !forceUsage && messages === undefined) {
    return { path: '/chat/completions', headers: JSON_HEADERS, body: EMPTY, bodyUnchanged: true };
  }
  const body: Record<string, unknown> = { ...req, model: target.providerModel };
  if (messages !== undefined) body.messages = messages;
  if (req.stream) body.stream_options = { ...(req.stream_options ?? {}), include_usage: true };
  return { path: '/chat/completions', headers: JSON_HEADERS, body: Buffer.from(JSON.stringify(body)) };
}
