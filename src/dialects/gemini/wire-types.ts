import { z } from 'zod';
import { jsonObjectSchema } from '../../lib/json-object.ts';

/**
 * Gemini API (generativelanguage v1beta) wire shapes, in Gemini's own spelling.
 * Requests are what we build (plain interfaces); responses are what Gemini sends and are
 * parsed with loose zod schemas because Google adds fields without notice.
 * Reference: https://ai.google.dev/api/generate-content
 */

// ---------------------------------------------------------------- request (we send)

export type JsonObject = Record<string, unknown>;

export interface GeminiPart {
  text?: string;
  inlineData?: { mimeType: string; data: string };
  fileData?: { mimeType?: string; fileUri: string };
  functionCall?: { name: string; args: JsonObject };
  functionResponse?: { name: string; response: JsonObject };
  /** Opaque bytes (base64) Gemini 3 requires back on the functionCall part it came with. */
  thoughtSignature?: string;
}

export type GeminiRole = 'user' | 'model';

export interface GeminiContent {
  role: GeminiRole;
  parts: GeminiPart[];
}

export interface GeminiFunctionDeclaration {
  name: string;
  description?: string;
  parametersJsonSchema?: JsonObject;
}

export type FunctionCallingMode = 'AUTO' | 'ANY' | 'NONE';

export interface GeminiToolConfig {
  functionCallingConfig: { mode: FunctionCallingMode; allowedFunctionNames?: string[] };
}

export interface GeminiGenerationConfig {
  temperature?: number;
  topP?: number;
  maxOutputTokens?: number;
  stopSequences?: string[];
  candidateCount?: number;
  seed?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  responseMimeType?: string;
  responseJsonSchema?: JsonObject;
  thinkingConfig?: { thinkingBudget: number };
}

export interface GeminiRequest {
  systemInstruction?: { parts: Array<{ text: string }> };
  contents: GeminiContent[];
  tools?: Array<{ functionDeclarations: GeminiFunctionDeclaration[] }>;
  toolConfig?: GeminiToolConfig;
  generationConfig?: GeminiGenerationConfig;
}

// ---------------------------------------------------------------- response (Gemini sends)

const functionCallSchema = z.looseObject({
  name: z.string(),
  // Gemini omits `args` for a call without parameters.
  args: jsonObjectSchema.nullish(),
});

export const responsePartSchema = z.looseObject({
  text: z.string().nullish(),
  thought: z.boolean().nullish(),
  thoughtSignature: z.string().nullish(),
  functionCall: functionCallSchema.nullish(),
});
export type ResponsePart = z.infer<typeof responsePartSchema>;

export const candidateSchema = z.looseObject({
  content: z.looseObject({ parts: z.array(responsePartSchema).nullish(), role: z.string().nullish() }).nullish(),
  finishReason: z.string().nullish(),
  index: z.number().int().min(0).nullish(),
});
export type Candidate = z.infer<typeof candidateSchema>;

const count = z.number().int().min(0).nullish();

/** https://ai.google.dev/api/generate-content#UsageMetadata — every count is cumulative. */
export const usageMetadataSchema = z.looseObject({
  promptTokenCount: count,
  cachedContentTokenCount: count,
  candidatesTokenCount: count,
  toolUsePromptTokenCount: count,
  thoughtsTokenCount: count,
  totalTokenCount: count,
});
export type UsageMetadata = z.infer<typeof usageMetadataSchema>;

export const generateContentResponseSchema = z.looseObject({
  candidates: z.array(candidateSchema).nullish(),
  promptFeedback: z.looseObject({ blockReason: z.string().nullish() }).nullish(),
  usageMetadata: usageMetadataSchema.nullish(),
  modelVersion: z.string().nullish(),
  responseId: z.string().nullish(),
});
export type GenerateContentResponse = z.infer<typeof generateContentResponseSchema>;

/** `{"error": {code, message, status, details}}`: https://ai.google.dev/gemini-api/docs/troubleshooting */
export const errorBodySchema = z.looseObject({
  error: z.looseObject({
    code: z.number().int().nullish(),
    message: z.string().nullish(),
    status: z.string().nullish(),
    details: z.array(z.unknown()).nullish(),
  }),
});
export type GeminiErrorBody = z.infer<typeof errorBodySchema>;
