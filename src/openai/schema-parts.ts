import { z } from 'zod';

/**
 * Small pieces of a provider's OpenAI-style output, made to fit the OpenAI schema
 * (test/fixtures/openai-spec, from openai-openapi): each takes `unknown` and returns a value
 * the schema accepts, or `undefined`/`null` where the schema lets the field be left out.
 */

export type Json = Record<string, unknown>;

export function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** Message content: a string, null, or (some servers) an array of text parts, joined. */
export function contentOf(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (!Array.isArray(value)) return null;
  const texts = value.filter((p): p is { text: string } => isRecord(p) && typeof p['text'] === 'string' && (p['type'] === undefined || p['type'] === 'text'));
  return texts.length === 0 ? null : texts.map((p) => p.text).join('');
}

/** Function arguments are a JSON string; some servers send the object itself. */
export function argumentsOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) return undefined;
  return JSON.stringify(value);
}

const topLogprob = z.object({
  token: z.string(),
  logprob: z.number(),
  bytes: z.array(z.number().int()).nullish().transform((b) => b ?? null),
});
const tokenLogprob = topLogprob.extend({ top_logprobs: z.array(topLogprob).nullish().transform((t) => t ?? []) });
const logprobsSchema = z.object({
  content: z.array(tokenLogprob).nullish().transform((c) => c ?? null),
  refusal: z.array(tokenLogprob).nullish().transform((r) => r ?? null),
});

/** `choices[].logprobs`: the provider's, when it has OpenAI's shape; otherwise null (required key). */
export function logprobsOf(value: unknown): z.infer<typeof logprobsSchema> | null {
  const parsed = logprobsSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}

const annotationsSchema = z.array(
  z.looseObject({
    type: z.literal('url_citation'),
    url_citation: z.looseObject({ end_index: z.number().int(), start_index: z.number().int(), url: z.string(), title: z.string() }),
  }),
);
const audioSchema = z.looseObject({ id: z.string(), expires_at: z.number().int(), data: z.string(), transcript: z.string() });
const functionCallSchema = z.object({ name: z.string(), arguments: z.unknown() });
const SERVICE_TIERS: ReadonlySet<string> = new Set(['auto', 'default', 'flex', 'scale', 'priority', 'fast']);

/** Optional fields kept only when they fit the schema; undefined means "leave the key out". */
export const optional = {
  annotations: (v: unknown) => {
    const p = annotationsSchema.safeParse(v);
    return p.success ? p.data : undefined;
  },
  audio: (v: unknown) => {
    if (v === null) return null;
    const p = audioSchema.safeParse(v);
    return p.success ? p.data : undefined;
  },
  functionCall: (v: unknown) => {
    const p = functionCallSchema.safeParse(v);
    return p.success ? { name: p.data.name, arguments: argumentsOf(p.data.arguments) ?? '{}' } : undefined;
  },
  serviceTier: (v: unknown) => (v === null || (typeof v === 'string' && SERVICE_TIERS.has(v)) ? v : undefined),
  string: (v: unknown) => (typeof v === 'string' ? v : undefined),
  /** Unix seconds: an integer, or nothing. */
  created: (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined),
} as const;

/** A tool-call id for a call the provider sent without one: unique per completion, at most 40 characters (OpenAI's limit). */
export function fillToolCallId(completionId: string, choice: number, index: number): string {
  return `call_${completionId.replace(/^chatcmpl-/, '').slice(0, 24)}_${choice}_${index}`;
}
