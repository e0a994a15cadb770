import type { ChatCompletion } from '../../openai/chat-response.ts';
import { malformedCompletion, normalizeCompletion } from '../../openai/normalize-completion.ts';
import { isRecord } from '../../openai/schema-parts.ts';
import type { Usage } from '../../openai/usage.ts';
import type { ResponseContext } from '../dialect.ts';
import { parseOpenAIError } from './errors.ts';

const NO_HEADERS = (): undefined => undefined;

/**
 * An OpenAI-compatible completion, made to fit the OpenAI schema (normalizeCompletion:
 * relabelled with the gateway's id and the public model name, finish reasons mapped, usage
 * exact or left out). Throws a 502 UpstreamError for a body that is no completion, a 200 that
 * carries an `{"error":…}` object, or a provider-declared `finish_reason: "error"`.
 */
export function parseOpenAIResponse(body: Uint8Array, ctx: ResponseContext): { completion: ChatCompletion; usage: Usage | undefined } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (cause) {
    throw malformedCompletion(cause);
  }
  if (isRecord(parsed) && !Array.isArray(parsed['choices']) && parsed['error'] !== undefined && parsed['error'] !== null) {
    throw parseOpenAIError(502, NO_HEADERS, body);
  }
  return normalizeCompletion(parsed, ctx);
}
