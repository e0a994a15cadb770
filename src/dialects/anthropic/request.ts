import type { ChatRequest } from '../../openai/chat-request.ts';
import type { TargetContext, UpstreamRequest } from '../dialect.ts';
import type { MessagesRequest, OutputConfigParam } from './wire-types.ts';
import { translateConversation } from './conversation.ts';
import { invalid } from './invalid.ts';
import { applyThinking } from './thinking.ts';
import { translateTools } from './tools.ts';

/**
 * OpenAI chat request → Anthropic Messages request (docs/dialects/anthropic.md lists every
 * field). Throws only InvalidRequestError; fields with no Anthropic equivalent are dropped.
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
  refuseUnsupported(req);
  const { system, messages } = translateConversation(req.messages);
  const body: MessagesRequest = {
    model: target.providerModel,
    // Required by Anthropic, which has no default (wire README 3.2).
    max_tokens: req.max_completion_tokens ?? req.max_tokens ?? target.defaultMaxTokens,
    ...(system === undefined ? {} : { system }),
    messages,
  };
  Object.assign(body, translateTools(req));
  if (req.temperature != null) body.temperature = unitInterval(req.temperature, 'temperature');
  // Claude Sonnet 4.5 and later refuse both together (wire README A9), and Anthropic's advice
  // has always been to set one: temperature wins, top_p is dropped.
  const topP = req.top_p != null ? unitInterval(req.top_p, 'top_p') : undefined;
  if (topP !== undefined && body.temperature === undefined) body.top_p = topP;
  const stop = stopSequences(req.stop);
  if (stop !== undefined) body.stop_sequences = stop;
  if (req.user !== undefined && req.user !== '') body.metadata = { user_id: req.user };
  if (req.stream === true) body.stream = true;
  const outputConfig = outputConfigFor(req.response_format);
  if (outputConfig !== undefined) body.output_config = outputConfig;
  applyThinking(req, body, target.defaultMaxTokens);
  return body;
}

function refuseUnsupported(req: ChatRequest): void {
  if (req.n != null && req.n > 1) throw invalid('n', 'n > 1 is not supported by this model.');
  // Dropping these would silently turn off function calling; the response shape differs too.
  if (req['functions'] !== undefined) throw invalid('functions', 'The deprecated "functions" parameter is not supported; use "tools".');
  if (req['function_call'] !== undefined) throw invalid('function_call', 'The deprecated "function_call" parameter is not supported; use "tool_choice".');
}

/** OpenAI allows temperature up to 2; Anthropic's range is 0–1 for both temperature and top_p. */
function unitInterval(value: number, param: string): number {
  if (value < 0 || value > 1) throw invalid(param, `${param} must be between 0 and 1 for this model.`);
  return value;
}

function stopSequences(stop: ChatRequest['stop']): string[] | undefined {
  if (stop == null) return undefined;
  const list = typeof stop === 'string' ? [stop] : stop;
  return list.length > 0 ? list : undefined;
}

/**
 * json_schema → structured outputs `output_config.format` (wire README 5.1):
 * https://docs.claude.com/en/docs/build-with-claude/structured-outputs
 * json_object has no schema to send and Anthropic has no schema-less JSON mode, so it is
 * refused rather than silently answered with free text.
 */
function outputConfigFor(format: ChatRequest['response_format']): OutputConfigParam | undefined {
  if (format === undefined || format.type === 'text') return undefined;
  if (format.type === 'json_object') {
    throw invalid('response_format', 'response_format "json_object" is not supported by this model; use "json_schema" with a schema.');
  }
  const schema = format.json_schema.schema;
  if (schema === undefined) throw invalid('response_format.json_schema.schema', 'response_format "json_schema" needs a schema for this model.');
  return { format: { type: 'json_schema', schema } };
}
