import { z } from 'zod';

/**
 * Anthropic Messages API wire shapes. Request types describe what the gateway sends; zod
 * schemas validate what Anthropic sends back. Schemas are loose: the API adds fields over time
 * and a gateway must tolerate them (wire README 3.3/3.4). Field names keep Anthropic's spelling.
 * Reference: https://docs.claude.com/en/api/messages
 */

// ---------------------------------------------------------------------------------------------
// Request (gateway → Anthropic)
// ---------------------------------------------------------------------------------------------

export interface TextBlockParam {
  type: 'text';
  text: string;
}

export type ImageSource =
  | { type: 'base64'; media_type: ImageMediaType; data: string }
  | { type: 'url'; url: string };

export type ImageMediaType = 'image/jpeg' | 'image/png' | 'image/gif' | 'image/webp';

export interface ImageBlockParam {
  type: 'image';
  source: ImageSource;
}

export interface ToolUseBlockParam {
  type: 'tool_use';
  id: string;
  name: string;
  input: Record<string, unknown>;
}

export interface ToolResultBlockParam {
  type: 'tool_result';
  tool_use_id: string;
  /** Omitted when the tool answered with nothing: Anthropic rejects empty text blocks. */
  content?: string | Array<TextBlockParam | ImageBlockParam>;
}

/** A thinking block given back unmodified: its signature covers the text (extended thinking with tool use). */
export interface ThinkingBlockParam {
  type: 'thinking';
  thinking: string;
  signature: string;
}

/** A thinking block Anthropic encrypted; given back as it came. */
export interface RedactedThinkingBlockParam {
  type: 'redacted_thinking';
  data: string;
}

export type ContentBlockParam =
  | TextBlockParam
  | ImageBlockParam
  | ToolUseBlockParam
  | ToolResultBlockParam
  | ThinkingBlockParam
  | RedactedThinkingBlockParam;

export interface MessageParam {
  role: 'user' | 'assistant';
  content: string | ContentBlockParam[];
}

export interface ToolParam {
  name: string;
  description?: string;
  input_schema: Record<string, unknown>;
  strict?: boolean;
}

export type ToolChoiceParam =
  | { type: 'auto' | 'any'; disable_parallel_tool_use?: boolean }
  | { type: 'tool'; name: string; disable_parallel_tool_use?: boolean }
  | { type: 'none' };

export interface OutputConfigParam {
  format: { type: 'json_schema'; schema: Record<string, unknown> };
}

export interface MessagesRequest {
  model: string;
  max_tokens: number;
  system?: string | TextBlockParam[];
  messages: MessageParam[];
  tools?: ToolParam[];
  tool_choice?: ToolChoiceParam;
  temperature?: number;
  top_p?: number;
  stop_sequences?: string[];
  metadata?: { user_id: string };
  stream?: true;
  output_config?: OutputConfigParam;
  thinking?: { type: 'enabled'; budget_tokens: number };
}

// ---------------------------------------------------------------------------------------------
// Response (Anthropic → gateway)
// ---------------------------------------------------------------------------------------------

const tokenCount = z.number().int().nonnegative();

/** `Message.usage`: input_tokens excludes cached tokens (wire README 3.3). */
export const usageSchema = z.looseObject({
  input_tokens: tokenCount,
  output_tokens: tokenCount,
  cache_creation_input_tokens: tokenCount.nullish(),
  cache_read_input_tokens: tokenCount.nullish(),
  output_tokens_details: z.looseObject({ thinking_tokens: tokenCount.nullish() }).nullish(),
});
export type AnthropicUsage = z.infer<typeof usageSchema>;

/** `message_delta.usage`: output_tokens is cumulative; newer API repeats input/cache counts. */
export const deltaUsageSchema = z.looseObject({
  output_tokens: tokenCount,
  input_tokens: tokenCount.nullish(),
  cache_creation_input_tokens: tokenCount.nullish(),
  cache_read_input_tokens: tokenCount.nullish(),
  output_tokens_details: z.looseObject({ thinking_tokens: tokenCount.nullish() }).nullish(),
});
export type AnthropicDeltaUsage = z.infer<typeof deltaUsageSchema>;

const KNOWN_BLOCK_TYPES = new Set(['text', 'tool_use']);

export const textBlockSchema = z.looseObject({ type: z.literal('text'), text: z.string() });
export const toolUseBlockSchema = z.looseObject({
  type: z.literal('tool_use'),
  id: z.string().min(1),
  name: z.string(),
  input: z.unknown(),
});
/**
 * Blocks the OpenAI format has no slot for (thinking, redacted_thinking, server-tool blocks…).
 * The refinement keeps a malformed text/tool_use block from being silently ignored as "other".
 */
const otherBlockSchema = z.looseObject({ type: z.string().refine((t) => !KNOWN_BLOCK_TYPES.has(t)) });

export const contentBlockSchema = z.union([textBlockSchema, toolUseBlockSchema, otherBlockSchema]);
export type ContentBlock = z.infer<typeof contentBlockSchema>;

export const messageSchema = z.looseObject({
  type: z.literal('message'),
  role: z.literal('assistant'),
  content: z.array(contentBlockSchema),
  stop_reason: z.string().nullish(),
  usage: usageSchema,
});
export type AnthropicMessage = z.infer<typeof messageSchema>;

// ---------------------------------------------------------------------------------------------
// Stream events (wire README 3.4)
// ---------------------------------------------------------------------------------------------

export const eventTypeSchema = z.looseObject({ type: z.string() });

export const messageStartSchema = z.looseObject({
  type: z.literal('message_start'),
  message: z.looseObject({ usage: usageSchema }),
});

const blockIndex = z.number().int().nonnegative();

export const contentBlockStartSchema = z.looseObject({
  type: z.literal('content_block_start'),
  index: blockIndex,
  content_block: contentBlockSchema,
});

const KNOWN_DELTA_TYPES = new Set(['text_delta', 'input_json_delta']);

export const textDeltaSchema = z.looseObject({ type: z.literal('text_delta'), text: z.string() });
export const inputJsonDeltaSchema = z.looseObject({ type: z.literal('input_json_delta'), partial_json: z.string() });
/** thinking_delta, signature_delta, citations_delta and future delta types. */
const otherDeltaSchema = z.looseObject({ type: z.string().refine((t) => !KNOWN_DELTA_TYPES.has(t)) });

export const contentBlockDeltaSchema = z.looseObject({
  type: z.literal('content_block_delta'),
  index: blockIndex,
  delta: z.union([textDeltaSchema, inputJsonDeltaSchema, otherDeltaSchema]),
});

export const messageDeltaSchema = z.looseObject({
  type: z.literal('message_delta'),
  delta: z.looseObject({ stop_reason: z.string().nullish() }),
  usage: deltaUsageSchema.nullish(),
});

// ---------------------------------------------------------------------------------------------
// Errors (wire README 3.5): {"type":"error","error":{"type","message"},"request_id"}
// ---------------------------------------------------------------------------------------------

export const errorBodySchema = z.looseObject({
  error: z.looseObject({ type: z.string().optional(), message: z.string().optional() }),
});
