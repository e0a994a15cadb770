import type { Dialect } from '../dialect.ts';
import { parseGeminiError } from './errors.ts';
import { buildGeminiRequest, geminiCannotServe } from './request.ts';
import { parseGeminiResponse } from './response.ts';
import { createGeminiStreamTranslator } from './stream.ts';

/**
 * Google Gemini API (AI Studio, generativelanguage v1beta) spoken from OpenAI chat completions.
 * Stateless: thought signatures travel inside minted tool-call ids (tool-call-ids.ts).
 * Mapping table: docs/dialects/gemini.md.
 */
export const geminiDialect: Dialect = {
  id: 'gemini',
  cannotServe: geminiCannotServe,
  buildRequest: buildGeminiRequest,
  parseResponse: parseGeminiResponse,
  parseError: parseGeminiError,
  createStreamTranslator: createGeminiStreamTranslator,
};
