import { UpstreamError } from '../errors/gateway-error.ts';
import type { ChatCompletion, ResponseToolCall } from './chat-response.ts';
import { ERROR_FINISH, normalizeFinishReason } from './finish-reason.ts';
import { sanitizeUsage } from './provider-usage.ts';
import { argumentsOf, contentOf, fillToolCallId, isRecord, logprobsOf, optional, stringOrNull, type Json } from './schema-parts.ts';
import { fromOpenAIUsage, type Usage } from './usage.ts';

/** Who the completion is, as the caller sees it (the dialect's ResponseContext). */
export interface CompletionLabel {
  id: string;
  created: number;
  publicModel: string;
}

type Choice = ChatCompletion['choices'][number];
type Message = Choice['message'] & Json;

/** Message keys the schema defines; anything else (e.g. DeepSeek's `reasoning_content`) passes as sent. */
const MESSAGE_KEYS = new Set(['role', 'content', 'refusal', 'tool_calls', 'annotations', 'function_call', 'audio']);

/** The provider declared the answer failed: an error for the caller, never a 200. */
export function providerFinishError(): UpstreamError {
  return new UpstreamError(502, 'api_error', 'The model provider reported an error and did not complete the response.', { code: 'upstream_finish_error' });
}

export function malformedCompletion(cause?: unknown): UpstreamError {
  return new UpstreamError(502, 'api_error', 'The model provider returned a malformed response.', { cause, code: 'upstream_malformed' });
}

function toolCalls(value: unknown, label: CompletionLabel, choice: number): Array<ResponseToolCall | Json> | undefined {
  if (!Array.isArray(value)) return undefined;
  const out: Array<ResponseToolCall | Json> = [];
  value.forEach((call, i) => {
    if (!isRecord(call)) return;
    const id = typeof call['id'] === 'string' && call['id'] !== '' ? call['id'] : fillToolCallId(label.id, choice, i);
    const custom = call['custom'];
    if (call['type'] === 'custom' && isRecord(custom) && typeof custom['name'] === 'string' && typeof custom['input'] === 'string') {
      out.push({ id, type: 'custom', custom: { name: custom['name'], input: custom['input'] } });
      return;
    }
    const fn = call['function'];
    if (!isRecord(fn) || typeof fn['name'] !== 'string') return; // nothing a caller could run
    out.push({ id, type: 'function', function: { name: fn['name'], arguments: argumentsOf(fn['arguments']) ?? '{}' } });
  });
  return out.length > 0 ? out : undefined;
}

function message(raw: unknown, label: CompletionLabel, choice: number): Message {
  const m = isRecord(raw) ? raw : {};
  const out: Message = { role: 'assistant', content: contentOf(m['content']), refusal: stringOrNull(m['refusal']) };
  const calls = toolCalls(m['tool_calls'], label, choice);
  if (calls) out.tool_calls = calls as ResponseToolCall[];
  const annotations = optional.annotations(m['annotations']);
  if (annotations) out['annotations'] = annotations;
  const functionCall = optional.functionCall(m['function_call']);
  if (functionCall) out['function_call'] = functionCall;
  const audio = optional.audio(m['audio']);
  if (audio !== undefined) out['audio'] = audio;
  for (const [key, value] of Object.entries(m)) if (!MESSAGE_KEYS.has(key)) out[key] = value;
  return out;
}

/**
 * A provider's chat.completion (parsed JSON) as one that validates against the OpenAI schema:
 * relabelled (gateway id, public model), `created` an integer, every choice with its index,
 * `role: "assistant"`, `content`/`refusal` (null when absent), `logprobs` (null unless
 * well-formed) and a finish reason among OpenAI's five; usage integers or left out; top-level
 * fields outside the schema dropped. Throws a 502 UpstreamError when the provider declared an
 * `error` finish (`upstream_finish_error`), the body is no completion (`upstream_malformed`) or
 * it has no choice (`upstream_empty`).
 */
export function normalizeCompletion(raw: unknown, label: CompletionLabel): { completion: ChatCompletion; usage: Usage | undefined } {
  if (!isRecord(raw) || !Array.isArray(raw['choices'])) throw malformedCompletion();
  // In the provider's index order, numbered 0…n−1: a missing or repeated index cannot leave two choices with one index.
  const ordered = raw['choices']
    .map((c: unknown, position) => {
      const choice = isRecord(c) ? c : {};
      return { choice, order: typeof choice['index'] === 'number' ? choice['index'] : position };
    })
    .sort((a, b) => a.order - b.order);
  const choices: Choice[] = ordered.map(({ choice }, index) => {
    const msg = message(choice['message'], label, index);
    const finish = normalizeFinishReason(choice['finish_reason'], { hasToolCalls: msg.tool_calls !== undefined });
    if (finish === ERROR_FINISH) throw providerFinishError();
    // A completion is whole by definition: a missing reason reads like an unknown one.
    const finishReason = finish ?? (msg.tool_calls !== undefined ? 'tool_calls' : 'stop');
    return { index, message: msg, logprobs: logprobsOf(choice['logprobs']), finish_reason: finishReason };
  });
  // As in a stream that ends without a choice: a 2xx with nothing to answer is the provider's fault.
  if (choices.length === 0) throw new UpstreamError(502, 'api_error', 'The model provider returned an empty response.', { code: 'upstream_empty' });
  const completion: ChatCompletion & Json = {
    id: label.id,
    object: 'chat.completion',
    created: optional.created(raw['created']) ?? label.created,
    model: label.publicModel,
    choices,
  };
  const openaiUsage = sanitizeUsage(raw['usage']);
  if (openaiUsage) completion.usage = openaiUsage;
  const fingerprint = optional.string(raw['system_fingerprint']);
  if (fingerprint !== undefined) completion.system_fingerprint = fingerprint;
  const tier = optional.serviceTier(raw['service_tier']);
  if (tier !== undefined) completion['service_tier'] = tier;
  return { completion, usage: fromOpenAIUsage(openaiUsage) };
}
