import type { ChatRequest } from '../../openai/chat-request.ts';
import type { TargetContext, UpstreamRequest } from '../dialect.ts';

const JSON_HEADERS = Object.freeze({ 'content-type': 'application/json' });
const EMPTY = new Uint8Array(0);

/**
 * OpenAI-compatible providers take the caller's body as is, except: the provider's model name,
 * and `stream_options.include_usage` forced on for streams so that every stream reports usage
 * (the translator removes the usage chunk again when the caller did not ask for it).
 */
export function buildOpenAIRequest(req: ChatRequest, target: TargetContext): UpstreamRequest {
  const forceUsage = req.stream === true && req.stream_options?.include_usage !== true;
  if (req.model === target.providerModel && !forceUsage) {
    return { path: '/chat/completions', headers: JSON_HEADERS, body: EMPTY, bodyUnchanged: true };
  }
  const body: Record<string, unknown> = { ...req, model: target.providerModel };
  if (req.stream) body.stream_options = { ...(req.stream_options ?? {}), include_usage: true };
  return { path: '/chat/completions', headers: JSON_HEADERS, body: Buffer.from(JSON.stringify(body)) };
}
