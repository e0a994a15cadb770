import type { ChatRequest } from '../openai/chat-request.ts';
import type { ChatCompletion } from '../openai/chat-response.ts';
import type { Usage } from '../openai/usage.ts';
import type { UpstreamError } from '../errors/gateway-error.ts';

export type DialectId = 'openai' | 'anthropic' | 'gemini';

/** What one attempt needs to know about where it goes. */
export interface TargetContext {
  /** The provider's own model name. */
  providerModel: string;
  /** max_tokens to send when the caller set none and the provider requires one (Anthropic). */
  defaultMaxTokens: number;
}

/** A translated request: path relative to the provider's base path, extra headers, body bytes. */
export interface UpstreamRequest {
  path: string;
  headers: Record<string, string>;
  body: Uint8Array;
  /**
   * True when the caller's own body bytes are exactly what the provider needs (an
   * OpenAI-compatible provider, same model name, nothing forced): the attempt then lets the
   * body through untouched instead of replacing it, which saves a round trip per attempt.
   */
  bodyUnchanged?: boolean;
}

/** What a translated response says about itself to the caller. */
export interface ResponseContext {
  /** `chatcmpl-…` id the gateway assigns (providers' ids are not OpenAI ids). */
  id: string;
  /** Unix seconds. */
  created: number;
  /** The public model name the caller asked for; responses never name the provider's model. */
  publicModel: string;
}

export interface StreamContext extends ResponseContext {
  /** Whether the caller asked for `stream_options.include_usage`. */
  includeUsage: boolean;
}

/** Read access to response headers, lower-case names. */
export type HeaderLookup = (name: string) => string | undefined;

/**
 * One upstream wire format. Dialects are stateless singletons; per-response state lives in
 * the StreamTranslator they create. Every method throws a GatewayError subclass on bad input.
 */
export interface Dialect {
  readonly id: DialectId;
  buildRequest(req: ChatRequest, target: TargetContext): UpstreamRequest;
  parseResponse(body: Uint8Array, ctx: ResponseContext): { completion: ChatCompletion; usage: Usage | undefined };
  parseError(status: number, headers: HeaderLookup, body: Uint8Array): UpstreamError;
  createStreamTranslator(ctx: StreamContext): StreamTranslator;
}

/**
 * Upstream stream bytes in, OpenAI SSE bytes out. Fed chunks in arrival order; `push` may
 * return '' while an event is incomplete. `end` runs once and emits the tail (finish chunk if
 * missing, usage chunk if asked, `data: [DONE]`), or an error event if the stream failed.
 */
export interface StreamTranslator {
  push(chunk: Uint8Array): string;
  end(): string;
  readonly usage: Usage | undefined;
}
