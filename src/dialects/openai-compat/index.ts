import type { Dialect } from '../dialect.ts';
import { parseOpenAIError } from './errors.ts';
import { buildOpenAIRequest } from './request.ts';
import { parseOpenAIResponse } from './response.ts';
import { OpenAIStreamTranslator } from './stream.ts';

/** OpenAI and every server that speaks its chat-completions API (DeepSeek, Mistral, Groq, vLLM, Ollama…). */
export const openaiDialect: Dialect = {
  id: 'openai',
  buildRequest: buildOpenAIRequest,
  parseResponse: parseOpenAIResponse,
  parseError: parseOpenAIError,
  createStreamTranslator: (ctx) => new OpenAIStreamTranslator(ctx),
};
