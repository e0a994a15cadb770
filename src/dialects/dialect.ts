import type { ChatRequest } from '../openai/chat-request.ts';
import type { ChatCompletion } from '../openai/chat-response.ts';
import type { Usage } from '../openai/usage.ts';
import type { GatewayError, UpstreamError } from '../errors/gateway-error.ts';
import type { CapabilityError } from '../errors/capability-error.ts';

export type DialectId = 'openai' | 'anthropic' | 'gemini';

/** What one attempt needs to know about where it goes. */
export interface TargetContext {
  /** The provider's own model name. */
  providerModel: string;
  /** max_tokens to send when the caller set none and the provider requires one (Anthropic). */
  defaultMaxTokens: number;
  /**
   * The signed thinking the gateway kept from the answer that opened this request's current tool
   * loop (Anthropic; src/policy/thinking-step.ts finds it at admission). Absent: none found.
   */
  keptThinking?: ThinkingTurn;
}

/**
 * Anthropic's signed reasoning blocks, exactly as the provider sent them: given back unmodified
 * (the signature covers the text) when the caller continues the tool loop.
 * https://docs.claude.com/en/docs/build-with-claude/extended-thinking#preserving-thinking-blocks
 */
export type ThinkingBlock =
  | { readonly type: 'thinking'; readonly thinking: string; readonly signature: string }
  | { readonly type: 'redacted_thinking'; readonly data: string };

/** One assistant answer that called tools, and the thinking blocks that preceded its calls. */
export interface ThinkingTurn {
  /** The answer's tool-call ids as the caller sees them, in answer order. */
  readonly toolCallIds: readonly string[];
  /** The answer's thinking and redacted_thinking blocks, in answer order. */
  readonly blocks: readonly ThinkingBlock[];
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
  /**
   * Called once when an answer holds both thinking blocks and tool calls (Anthropic), so the
   * gateway can keep the blocks for the request that continues the loop. Must not throw; a
   * stream calls it at `message_stop`, after the chunks before it went out.
   */
  onThinking?: (turn: ThinkingTurn) => void;
}

export interface StreamContext extends ResponseContext {
  /** Whether the caller asked for `stream_options.include_usage`. */
  includeUsage: boolean;
  /**
   * USD cost of a usage, when the caller's key opted in to `usage.cost` (src/pricing/usage-cost.ts):
   * the usage chunk then carries `cost`. Absent: no `cost` field.
   */
  costOf?: (usage: Usage) => number;
}

/** Read access to response headers, lower-case names. */
export type HeaderLookup = (name: string) => string | undefined;

/**
 * One upstream wire format. Dialects are stateless singletons; per-response state lives in
 * the StreamTranslator they create. Every method throws a GatewayError subclass on bad input.
 */
export interface Dialect {
  readonly id: DialectId;
  /**
   * The first thing in `req` this wire format cannot serve (a CapabilityError naming the
   * parameter), or undefined. Cheap — reads fields, never translates — because the routing
   * plan asks it of every target of every request. `buildRequest` throws the same error, so
   * the two never disagree. Absent: the dialect serves whatever it can translate.
   */
  cannotServe?(req: ChatRequest): CapabilityError | undefined;
  buildRequest(req: ChatRequest, target: TargetContext): UpstreamRequest;
  parseResponse(body: Uint8Array, ctx: ResponseContext): { completion: ChatCompletion; usage: Usage | undefined };
  parseError(status: number, headers: HeaderLookup, body: Uint8Array): UpstreamError;
  createStreamTranslator(ctx: StreamContext): StreamTranslator;
}

/**
 * The last event a translator wrote for the caller: `data: [DONE]` (`done`), or an OpenAI
 * error event (`error`, with the error it carries; no `[DONE]` follows). Nothing comes after it.
 */
export type StreamTerminal = { kind: 'done' } | { kind: 'error'; error: GatewayError };

/**
 * Token counts of a stream up to now, for one that stops before its end (the caller hung up,
 * the upstream broke off, or an error event ended it).
 */
export interface StreamTokens {
  /**
   * Input tokens as the provider counted them, known from its first event where it sends them
   * there (Anthropic `message_start.message.usage`, Gemini `usageMetadata`); undefined where it
   * counts only at the end (OpenAI-compatible `include_usage` chunk) and none came yet.
   */
  promptTokens: number | undefined;
  cachedTokens?: number;
  /** Output tokens so far: the provider's cumulative count where it sent one, else an estimate. */
  completionTokens: number;
  /**
   * True when `completionTokens` is the gateway's estimate: ⌈UTF-16 code units / 4⌉ of the
   * text, refusal, reasoning and tool-call arguments (name included) the provider streamed so far
   * (`estimateTokens`, src/lib/token-estimate.ts).
   */
  completionEstimated: boolean;
}

/**
 * Upstream stream bytes in, OpenAI SSE bytes out. Fed chunks in arrival order; `push` may
 * return '' while an event is incomplete. `end` runs once and emits the tail (finish chunk if
 * missing, usage chunk if asked, `data: [DONE]`), or an error event if the stream failed.
 */
export interface StreamTranslator {
  push(chunk: Uint8Array): string;
  end(): string;
  /** The provider's final usage, as the usage chunk reports it; undefined until the provider sent it. */
  readonly usage: Usage | undefined;
  /**
   * Set by the `push` or `end` call whose output holds the terminal event, undefined before.
   * The request is settled from that moment: SDKs close the connection as soon as they read
   * `[DONE]` or an error event, often before the upstream's end of stream reaches the gateway.
   */
  readonly terminal: StreamTerminal | undefined;
  /** What the stream has used so far (see StreamTokens); cheap, may be called at any time. */
  tokensSoFar(): StreamTokens;
}
