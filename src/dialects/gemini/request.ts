import { CapabilityError } from '../../errors/capability-error.ts';
import { asGatewayError, InvalidRequestError } from '../../errors/gateway-error.ts';
import type { ChatRequest } from '../../openai/chat-request.ts';
import type { TargetContext, UpstreamRequest } from '../dialect.ts';
import { thinkingBudget } from '../reasoning-effort.ts';
import { translateMessages } from './messages.ts';
import { cleanSchema } from './schema-clean.ts';
import { translateTools } from './tools.ts';
import type { GeminiGenerationConfig, GeminiRequest } from './wire-types.ts';

/**
 * OpenAI chat request → Gemini generateContent request (wire README 5.1).
 * Parameters without a Gemini equivalent that only tune delivery (`user`, `parallel_tool_calls`,
 * `logit_bias`, `store`, `metadata`, `service_tier`, `prediction`, …) are dropped; parameters
 * that promise output Gemini cannot produce through this translation are refused, so a caller
 * never silently gets less than it asked for. docs/dialects/gemini.md has the full table.
 */

/** https://ai.google.dev/api/generate-content#FIELDS.stop_sequences */
const MAX_STOP_SEQUENCES = 5;

function refuse(message: string, param: string): never {
  throw new InvalidRequestError(message, { param });
}

/**
 * What Gemini cannot serve through this translation, as a CapabilityError naming the parameter
 * (the routing plan then tries another target); undefined when it can. Reads fields only.
 */
export function geminiCannotServe(req: ChatRequest): CapabilityError | undefined {
  const present = (v: unknown): boolean => v !== undefined && v !== null && v !== false;
  const gap = (message: string, param: string) => new CapabilityError(param, message);
  if (present(req.functions)) return gap('The deprecated "functions" parameter is not supported; use "tools".', 'functions');
  if (present(req.function_call)) return gap('The deprecated "function_call" parameter is not supported; use "tool_choice".', 'function_call');
  if (present(req.logprobs)) return gap('logprobs are not supported by this model.', 'logprobs');
  if (typeof req.top_logprobs === 'number' && req.top_logprobs > 0) return gap('top_logprobs is not supported by this model.', 'top_logprobs');
  if (present(req.audio)) return gap('Audio output is not supported by this model.', 'audio');
  if (Array.isArray(req.modalities) && req.modalities.some((m) => m !== 'text')) {
    return gap('Only the "text" output modality is supported by this model.', 'modalities');
  }
  if (present(req.web_search_options)) return gap('web_search_options is not supported by this model.', 'web_search_options');
  return undefined;
}

function responseFormat(req: ChatRequest, config: GeminiGenerationConfig): void {
  const format = req.response_format;
  if (!format || format.type === 'text') return;
  // https://ai.google.dev/gemini-api/docs/structured-output
  config.responseMimeType = 'application/json';
  if (format.type === 'json_schema' && 'json_schema' in format) {
    const schema = format.json_schema.schema;
    if (schema) config.responseJsonSchema = cleanSchema(schema, 'response_format.json_schema.schema');
  }
}

function generationConfig(req: ChatRequest): GeminiGenerationConfig {
  const config: GeminiGenerationConfig = {};
  if (req.temperature != null) config.temperature = req.temperature;
  if (req.top_p != null) config.topP = req.top_p;
  const maxTokens = req.max_completion_tokens ?? req.max_tokens;
  if (maxTokens != null) config.maxOutputTokens = maxTokens;
  const stop = typeof req.stop === 'string' ? [req.stop] : (req.stop ?? []);
  if (stop.length > MAX_STOP_SEQUENCES) refuse(`At most ${MAX_STOP_SEQUENCES} stop sequences are supported by this model.`, 'stop');
  if (stop.length > 0) config.stopSequences = stop;
  if (req.n != null) config.candidateCount = req.n;
  if (req.seed != null) config.seed = req.seed;
  if (req.presence_penalty != null) config.presencePenalty = req.presence_penalty;
  if (req.frequency_penalty != null) config.frequencyPenalty = req.frequency_penalty;
  responseFormat(req, config);
  // Thoughts stay out of the answer (no includeThoughts); their tokens are reported as
  // reasoning_tokens. Gemini 3 takes thinkingBudget too, for compatibility with 2.5.
  const budget = thinkingBudget(req.reasoning_effort);
  if (budget !== undefined) config.thinkingConfig = { thinkingBudget: budget };
  return config;
}

function encodeBody(body: GeminiRequest): Uint8Array {
  let json: string;
  try {
    json = JSON.stringify(body);
  } catch (err) {
    // Only a RangeError from pathological nesting in caller-supplied JSON can land here.
    throw new InvalidRequestError('The request is nested too deeply.', { cause: err });
  }
  return new TextEncoder().encode(json);
}

function build(req: ChatRequest, target: TargetContext): UpstreamRequest {
  const gap = geminiCannotServe(req);
  if (gap) throw gap;
  const body: GeminiRequest = { ...translateMessages(req.messages), ...translateTools(req) };
  const config = generationConfig(req);
  if (Object.keys(config).length > 0) body.generationConfig = config;
  // Config may name the model as Gemini's resource name (`models/gemini-…`) or bare.
  const model = encodeURIComponent(target.providerModel.replace(/^models\//, ''));
  return {
    // https://ai.google.dev/gemini-api/docs/text-generation#streaming-responses: without
    // alt=sse the stream is one JSON array instead of SSE events.
    path: req.stream ? `/models/${model}:streamGenerateContent?alt=sse` : `/models/${model}:generateContent`,
    headers: { 'content-type': 'application/json' },
    body: encodeBody(body),
  };
}

/** Never throws anything but a GatewayError; caller mistakes are InvalidRequestError with `param`. */
export function buildGeminiRequest(req: ChatRequest, target: TargetContext): UpstreamRequest {
  try {
    return build(req, target);
  } catch (err) {
    throw asGatewayError(err);
  }
}
