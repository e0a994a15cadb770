import type { Conversation } from '../model/conversation.ts';
import type { Answer } from '../model/responder.ts';
import type { Reply } from '../reply.ts';
import type { SimFormat } from '../types.ts';
import type { JsonParse } from '../unknown.ts';

/** An endpoint the provider serves; `model` comes from the path (Gemini) when known. */
export interface Route {
  readonly stream: boolean;
  readonly model: string | undefined;
  /** Gemini `:streamGenerateContent` without `alt=sse` answers a JSON array instead of SSE. */
  readonly sse: boolean;
}

/** A request the responder can answer. */
export interface ParsedRequest {
  readonly conv: Conversation;
  readonly stream: boolean;
  readonly sse: boolean;
  /** OpenAI `stream_options.include_usage`. */
  readonly includeUsage: boolean;
  /** OpenAI `stream_options.include_obfuscation` (default true). */
  readonly obfuscation: boolean;
  /** Anthropic extended thinking was asked for: the answer starts with a signed thinking block. */
  readonly thinking?: boolean;
}

/** Context for an injected error reply. */
export interface ErrorContext {
  readonly retryAfter: number | undefined;
  readonly model: string | undefined;
  readonly stream: boolean;
  /** Overrides the provider's default message for the status. */
  readonly message?: string;
}

/** One provider's wire dialect: routing, auth, request parsing and response/error encoding. */
export interface Provider {
  readonly format: SimFormat;
  route(method: string, path: string, query: string): Route | undefined;
  notFound(method: string, url: string): Reply;
  /** An error reply when the request does not carry `apiKey` the provider's way. */
  checkAuth(headers: Readonly<Record<string, string>>, apiKey: string): Reply | undefined;
  parse(body: JsonParse, route: Route): ParsedRequest | Reply;
  /** Encodes the answers (one per choice/candidate, at least one). */
  render(answers: readonly Answer[], req: ParsedRequest): Reply;
  error(status: number, ctx: ErrorContext): Reply;
  /** Reply for a body over the size limit. */
  tooLarge(): Reply;
}

/** True when `parse` produced an error reply. */
export function isReply(v: ParsedRequest | Reply): v is Reply {
  return 'kind' in v;
}
