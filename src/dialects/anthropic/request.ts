import type { CapabilityError } from '../../errors/capability-error.ts';
import type { ChatRequest } from '../../openai/chat-request.ts';
import type { TargetContext, UpstreamRequest } from '../dialect.ts';
import type { MessagesRequest, OutputConfigParam, TextBlockParam } from './wire-types.ts';
import { translateConversation } from './conversation.ts';
import { unsupported } from './invalid.ts';
import { applyThinking } from './thinking.ts';
import { translateTools } from './tools.ts';

/**
 * OpenAI chat request → Anthropic Messages request (docs/dialects/anthropic.md lists every
 * field). Throws only InvalidRequestError: a CapabilityError for what Anthropic cannot serve
 * (anthropicCannotServe), a plain one for what no provider would take; fields with no
 * Anthropic equivalent that change nothing the caller relies on are dropped.
 */
export function buildAnthropicRequest(req: ChatRequest, target: TargetContext): UpstreamRequest {
  const body = toMessagesRequest(req, target);
  return {
    path: '/messages',
    headers: { 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: new TextEncoder().encode(JSON.stringify(body)),
  };
}

function toMessagesRequest(req: ChatRequest, target: TargetContext): MessagesRequest {
  const gap = anthropicCannotServe(req);
  if (gap) throw gap;
  const { system, messages } = translateConversation(req.messages);
  const jsonSystem = req.response_format?.type === 'json_object' ? withJsonObjectInstruction(system) : system;
  const body: MessagesRequest = {
    model: target.providerModel,
    // Required by Anthropic, which has no default (wire README 3.2).
    max_tokens: req.max_completion_tokens ?? req.max_tokens ?? target.defaultMaxTokens,
    ...(jsonSystem === undefined ? {} : { system: jsonSystem }),
    messages,
  };
  Object.assign(body, translateTools(req));
  // In range here: the request schema keeps OpenAI's 0–2 and 0–1 (chat-request.ts), and
  // anthropicCannotServe left out temperatures above Anthropic's 1.
  if (req.temperature != null) body.temperature = req.temperature;
  // Claude Sonnet 4.5 and later refuse both together (wire README A9), and Anthropic's advice
  // has always been to set one: temperature wins, top_p is dropped.
  if (req.top_p != null && body.temperature === undefined) body.top_p = req.top_p;
  const stop = stopSequences(req.stop);
  if (stop !== undefined) body.stop_sequences = stop;
  if (req.user !== undefined && req.user !== '') body.metadata = { user_id: req.user };
  if (req.stream === true) body.stream = true;
  const outputConfig = outputConfigFor(req.response_format);
  if (outputConfig !== undefined) body.output_config = outputConfig;
  applyThinking(req, body, target.defaultMaxTokens, target.keptThinking);
  return body;
}

/**
 * What a request asks for that the Messages API cannot give (wire README 5.9), as the
 * CapabilityError naming the parameter; undefined when Anthropic can serve it. Reads fields
 * and scans content-part types only: the routing plan calls it for every Anthropic target.
 * Each of these is something the caller would otherwise silently not get (several choices,
 * log-probabilities, audio, function calling), so it is a reason to try another provider.
 */
export function anthropicCannotServe(req: ChatRequest): CapabilityError | undefined {
  if (req.n != null && req.n > 1) return unsupported('n', 'n > 1 is not supported by this model.');
  if (req['logprobs'] === true) return unsupported('logprobs', 'logprobs are not supported by this model.');
  const top = req['top_logprobs'];
  if (typeof top === 'number' && top > 0) return unsupported('top_logprobs', 'top_logprobs is not supported by this model.');
  if (req['audio'] != null) return unsupported('audio', 'Audio output is not supported by this model.');
  const modalities = req['modalities'];
  if (Array.isArray(modalities) && modalities.some((m) => m !== 'text')) {
    return unsupported('modalities', 'Only the "text" output modality is supported by this model.');
  }
  // Dropping these would silently turn off function calling; the response shape differs too.
  if (req['functions'] !== undefined) return unsupported('functions', 'The deprecated "functions" parameter is not supported; use "tools".');
  if (req['function_call'] !== undefined) return unsupported('function_call', 'The deprecated "function_call" parameter is not supported; use "tool_choice".');
  // OpenAI's range is 0–2, Anthropic's 0–1: above 1 another provider may serve it; outside
  // 0–2 no provider would, which the request schema refuses before any plan.
  if (req.temperature != null && req.temperature > 1 && req.temperature <= 2) {
    return unsupported('temperature', 'temperature must be between 0 and 1 for this model.');
  }
  const format = req.response_format;
  if (format?.type === 'json_schema' && format.json_schema.schema === undefined) {
    return unsupported('response_format.json_schema.schema', 'response_format "json_schema" needs a schema for this model.');
  }
  return unservableContent(req.messages);
}

/** Audio and file parts: the Messages API has no audio input, and file parts are not mapped. */
function unservableContent(messages: ChatRequest['messages']): CapabilityError | undefined {
  for (let i = 0; i < messages.length; i++) {
    const content = messages[i]!.content;
    if (!Array.isArray(content)) continue;
    for (let j = 0; j < content.length; j++) {
      const type = content[j]!.type;
      if (type === 'input_audio') return unsupported(`messages[${i}].content[${j}]`, 'Audio input is not supported by this model.');
      if (type === 'file') return unsupported(`messages[${i}].content[${j}]`, 'File inputs are not supported by this model.');
    }
  }
  return undefined;
}

/**
 * `json_object` has no schema, and structured outputs require one that closes every object
 * (`additionalProperties: false`), so "any JSON object" cannot be expressed there. Anthropic's
 * documented alternatives are prefilling the answer with `{` and system-prompt instructions
 * ("Increase output consistency"); prefill is refused by Claude 4.6 models and by extended
 * thinking, so the instruction it is: appended after the caller's own system prompt, whose
 * blocks stay byte-identical (prompt caching).
 * https://docs.claude.com/en/docs/test-and-evaluate/strengthen-guardrails/increase-consistency
 */
export const JSON_OBJECT_INSTRUCTION =
  'Respond with a single valid JSON object and nothing else: no text before or after it and no Markdown code fences.';

function withJsonObjectInstruction(system: string | TextBlockParam[] | undefined): string | TextBlockParam[] {
  if (system === undefined) return JSON_OBJECT_INSTRUCTION;
  const instruction: TextBlockParam = { type: 'text', text: JSON_OBJECT_INSTRUCTION };
  return typeof system === 'string' ? [{ type: 'text', text: system }, instruction] : [...system, instruction];
}

function stopSequences(stop: ChatRequest['stop']): string[] | undefined {
  if (stop == null) return undefined;
  const list = typeof stop === 'string' ? [stop] : stop;
  return list.length > 0 ? list : undefined;
}

/**
 * json_schema → structured outputs `output_config.format` (wire README 5.1):
 * https://docs.claude.com/en/docs/build-with-claude/structured-outputs
 * json_object goes into the system prompt instead (JSON_OBJECT_INSTRUCTION); a json_schema
 * without a schema was refused by anthropicCannotServe.
 */
function outputConfigFor(format: ChatRequest['response_format']): OutputConfigParam | undefined {
  if (format === undefined || format.type !== 'json_schema') return undefined;
  const schema = format.json_schema.schema;
  return schema === undefined ? undefined : { format: { type: 'json_schema', schema } };
}
