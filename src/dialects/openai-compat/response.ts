import { UpstreamError } from '../../errors/gateway-error.ts';
import type { ChatCompletion } from '../../openai/chat-response.ts';
import { fromOpenAIUsage, type Usage } from '../../openai/usage.ts';
import type { ResponseContext } from '../dialect.ts';

/** An OpenAI-compatible completion, re-labelled with the gateway's id and the public model name. */
export function parseOpenAIResponse(body: Uint8Array, ctx: ResponseContext): { completion: ChatCompletion; usage: Usage | undefined } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (cause) {
    throw new UpstreamError(502, 'api_error', 'The model provider returned a malformed response.', { cause, code: 'upstream_malformed' });
  }
  if (!parsed || typeof parsed !== 'object' || !Array.isArray((parsed as { choices?: unknown }).choices)) {
    throw new UpstreamError(502, 'api_error', 'The model provider returned a malformed response.', { code: 'upstream_malformed' });
  }
  const completion = parsed as ChatCompletion;
  completion.id = ctx.id;
  completion.model = ctx.publicModel;
  completion.object = 'chat.completion';
  if (typeof completion.created !== 'number') completion.created = ctx.created;
  return { completion, usage: fromOpenAIUsage(completion.usage) };
}
