/** A tool the request offers, with its parameter JSON Schema (Gemini OpenAPI types are lower-cased later). */
export interface ToolSpec {
  readonly name: string;
  readonly schema: unknown;
}

/** Whether the request forces a tool call, and which tools it may use. */
export type ToolMode =
  | { readonly kind: 'auto' }
  | { readonly kind: 'none' }
  | { readonly kind: 'required'; readonly allowed: readonly string[] | undefined };

/** One tool result in the last turn. */
export interface ToolResultView {
  readonly name: string;
  readonly content: string;
}

/** The provider-neutral view of a request that the responder answers. */
export interface Conversation {
  readonly model: string;
  readonly lastUserText: string;
  /** Non-empty when the last turn carries tool results. */
  readonly toolResults: readonly ToolResultView[];
  readonly tools: readonly ToolSpec[];
  readonly toolMode: ToolMode;
  readonly maxTokens: number | undefined;
  readonly stop: readonly string[];
  readonly promptTokens: number;
}
