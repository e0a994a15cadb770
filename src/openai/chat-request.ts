import { z } from 'zod';
import { jsonObjectSchema } from '../lib/json-object.ts';

/**
 * The OpenAI chat-completions request as the gateway accepts it. Known fields are typed so
 * that dialects can translate them; unknown fields pass through (loose objects) because
 * OpenAI-compatible providers add their own and a gateway must not drop them.
 */
const textPart = z.looseObject({ type: z.literal('text'), text: z.string() });
const imagePart = z.looseObject({
  type: z.literal('image_url'),
  image_url: z.looseObject({ url: z.string(), detail: z.string().optional() }),
});
const audioPart = z.looseObject({
  type: z.literal('input_audio'),
  input_audio: z.looseObject({ data: z.string(), format: z.string() }),
});
const filePart = z.looseObject({
  type: z.literal('file'),
  file: z.looseObject({ file_data: z.string().optional(), file_id: z.string().optional(), filename: z.string().optional() }),
});
const refusalPart = z.looseObject({ type: z.literal('refusal'), refusal: z.string() });
/** Parts of another type are kept (loose) so that a provider that knows them can have them. */
const otherPart = z.looseObject({ type: z.string() });

export const contentPartSchema = z.union([textPart, imagePart, audioPart, filePart, refusalPart, otherPart]);
export type ContentPart = z.infer<typeof contentPartSchema>;
export type TextPart = z.infer<typeof textPart>;
export type ImagePart = z.infer<typeof imagePart>;

const content = z.union([z.string(), z.array(contentPartSchema)]);

export const toolCallSchema = z.looseObject({
  id: z.string(),
  type: z.literal('function').default('function'),
  function: z.looseObject({ name: z.string(), arguments: z.string() }),
});
export type ToolCall = z.infer<typeof toolCallSchema>;

const systemMessage = z.looseObject({ role: z.enum(['system', 'developer']), content, name: z.string().optional() });
const userMessage = z.looseObject({ role: z.literal('user'), content, name: z.string().optional() });
const assistantMessage = z.looseObject({
  role: z.literal('assistant'),
  content: content.nullish(),
  tool_calls: z.array(toolCallSchema).optional(),
  refusal: z.string().nullish(),
  name: z.string().optional(),
});
const toolMessage = z.looseObject({ role: z.literal('tool'), tool_call_id: z.string(), content });
const functionMessage = z.looseObject({ role: z.literal('function'), name: z.string(), content: z.string().nullable() });

export const chatMessageSchema = z.discriminatedUnion('role', [
  systemMessage,
  userMessage,
  assistantMessage,
  toolMessage,
  functionMessage,
]);
export type ChatMessage = z.infer<typeof chatMessageSchema>;
export type AssistantMessage = z.infer<typeof assistantMessage>;
export type ToolMessage = z.infer<typeof toolMessage>;

export const functionToolSchema = z.looseObject({
  type: z.literal('function'),
  function: z.looseObject({
    name: z.string().min(1),
    description: z.string().optional(),
    parameters: jsonObjectSchema.optional(),
    strict: z.boolean().nullish(),
  }),
});
export type FunctionTool = z.infer<typeof functionToolSchema>;

export const toolChoiceSchema = z.union([
  z.enum(['none', 'auto', 'required']),
  z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: z.string() }) }),
  z.looseObject({ type: z.string() }),
]);
export type ToolChoice = z.infer<typeof toolChoiceSchema>;

export const responseFormatSchema = z.union([
  z.looseObject({ type: z.literal('text') }),
  z.looseObject({ type: z.literal('json_object') }),
  z.looseObject({
    type: z.literal('json_schema'),
    json_schema: z.looseObject({
      name: z.string(),
      description: z.string().optional(),
      schema: jsonObjectSchema.optional(),
      strict: z.boolean().nullish(),
    }),
  }),
]);
export type ResponseFormat = z.infer<typeof responseFormatSchema>;

export const chatRequestSchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(chatMessageSchema).min(1),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
  // OpenAI's documented ranges, checked for every target: a value no provider accepts is the
  // caller's 400 here, not a 200 from a lenient provider or another provider's narrower limit.
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  n: z.number().int().min(1).max(128).nullish(),
  max_tokens: z.number().int().min(1).nullish(),
  max_completion_tokens: z.number().int().min(1).nullish(),
  stop: z.union([z.string(), z.array(z.string())]).nullish(),
  tools: z.array(z.union([functionToolSchema, z.looseObject({ type: z.string() })])).optional(),
  tool_choice: toolChoiceSchema.optional(),
  parallel_tool_calls: z.boolean().nullish(),
  response_format: responseFormatSchema.optional(),
  user: z.string().optional(),
  seed: z.number().int().nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  /** Checked by the dialects that map it (a string here so new OpenAI levels pass through to OpenAI). */
  reasoning_effort: z.string().nullish(),
});
export type ChatRequest = z.infer<typeof chatRequestSchema>;
