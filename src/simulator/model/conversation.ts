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

/**
 * The answer format the request asks for: free text, any JSON object (OpenAI `json_object`,
 * Gemini `responseMimeType: application/json` without a schema) or JSON fitting a JSON Schema
 * (OpenAI `json_schema`, Anthropic `output_config.format`, Gemini `responseJsonSchema`/`responseSchema`).
 */
export type OutputFormat =
  | { readonly kind: 'text' }
  | { readonly kind: 'json_object' }
  | { readonly kind: 'json_schema'; readonly schema: unknown };

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
  /** System instructions (OpenAI system/developer, Anthropic `system`, Gemini `systemInstruction`); default ''. */
  readonly instructions?: string;
  /** Default `{ kind: 'text' }`. */
  readonly output?: OutputFormat;
  /** How many alternative answers to give (OpenAI `n`, Gemini `candidateCount`); default 1. */
  readonly choices?: number;
  /**
   * Text of a final assistant turn (Anthropic prefill) that the answer continues; default ''.
   * A prefill starting with `{` asks for a JSON object, as Anthropic documents for JSON output.
   */
  readonly prefill?: string;
}
