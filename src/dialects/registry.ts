import { anthropicDialect } from './anthropic/index.ts';
import type { Dialect, DialectId } from './dialect.ts';
import { geminiDialect } from './gemini/index.ts';
import { openaiDialect } from './openai-compat/index.ts';

/** Every wire format the gateway speaks; adding a provider of a known format is config only. */
export const dialects: Readonly<Record<DialectId, Dialect>> = Object.freeze({
  openai: openaiDialect,
  anthropic: anthropicDialect,
  gemini: geminiDialect,
});
