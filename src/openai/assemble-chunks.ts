import { UpstreamError, type OpenAIErrorType } from '../errors/gateway-error.ts';
import { SseDecoder } from '../sse/sse-decoder.ts';
import type { ChatCompletion, FinishReason, OpenAIUsage } from './chat-response.ts';
import type { CompletionLabel } from './normalize-completion.ts';
import { isRecord, type Json } from './schema-parts.ts';

/** The part of a StreamTranslator the assembler drives (bytes in, OpenAI SSE out). */
export interface ChunkSource {
  push(chunk: Uint8Array): string;
  end(): string;
}

interface ToolCallSlot {
  id: string;
  type: string;
  name: string;
  arguments: string;
}

interface ChoiceSlot {
  content: string | null;
  refusal: string | null;
  toolCalls: Map<number, ToolCallSlot>;
  /** Other delta strings (e.g. `reasoning_content`), concatenated the same way. */
  extras: Json;
  logprobs: unknown[] | null;
  finish: FinishReason | null;
}

/** Delta keys folded above, or not part of a message (`role` is always `assistant`). */
const FOLDED = new Set(['role', 'content', 'refusal', 'tool_calls', 'function_call']);

/** Status for an error event's type: the event itself has none (the stream's head said 200). */
const STATUS_BY_TYPE: Partial<Record<string, number>> = { rate_limit_error: 429, service_unavailable_error: 503, timeout_error: 504 };

/**
 * A provider's SSE answer to a non-stream request, as one chat.completion: the whole body is
 * fed to the dialect's own stream translator (`source`, created with `includeUsage: true`), and
 * the OpenAI chunks it writes are folded per choice (content, refusal and tool-call fragments
 * concatenated in order, the finish reason kept). An error event, which the translator writes
 * for provider errors, truncation and `finish_reason: "error"` alike, becomes the thrown
 * UpstreamError (502 unless its type names a more precise status), so the caller gets an error
 * status rather than a 200.
 */
export function assembleCompletion(source: ChunkSource, body: Uint8Array, label: CompletionLabel): ChatCompletion {
  const decoder = new SseDecoder();
  const events = [...decoder.push(new TextEncoder().encode(source.push(body) + source.end())), ...decoder.end()];
  const choices = new Map<number, ChoiceSlot>();
  let usage: OpenAIUsage | undefined;
  let created = label.created;
  const top: Json = {};
  for (const { data } of events) {
    if (data === '[DONE]') break;
    const chunk: unknown = JSON.parse(data);
    if (!isRecord(chunk)) continue;
    if (isRecord(chunk['error'])) throw errorFromEvent(chunk['error']);
    if (typeof chunk['created'] === 'number') created = chunk['created'];
    for (const key of ['system_fingerprint', 'service_tier'] as const) if (chunk[key] !== undefined) top[key] = chunk[key];
    if (isRecord(chunk['usage'])) usage = chunk['usage'] as unknown as OpenAIUsage;
    for (const c of Array.isArray(chunk['choices']) ? chunk['choices'] : []) if (isRecord(c)) fold(choices, c);
  }
  const completion: ChatCompletion & Json = {
    id: label.id,
    object: 'chat.completion',
    created,
    model: label.publicModel,
    choices: [...choices.entries()].sort(([a], [b]) => a - b).map(([index, slot]) => toChoice(index, slot)),
    ...top,
  };
  if (usage) completion.usage = usage;
  return completion;
}

function fold(choices: Map<number, ChoiceSlot>, c: Json): void {
  const index = typeof c['index'] === 'number' ? c['index'] : 0;
  let slot = choices.get(index);
  if (!slot) {
    slot = { content: null, refusal: null, toolCalls: new Map(), extras: {}, logprobs: null, finish: null };
    choices.set(index, slot);
  }
  const delta = isRecord(c['delta']) ? c['delta'] : {};
  if (typeof delta['content'] === 'string') slot.content = (slot.content ?? '') + delta['content'];
  if (typeof delta['refusal'] === 'string') slot.refusal = (slot.refusal ?? '') + delta['refusal'];
  if (Array.isArray(delta['tool_calls'])) for (const call of delta['tool_calls']) if (isRecord(call)) foldToolCall(slot, call);
  for (const [key, value] of Object.entries(delta)) {
    if (typeof value !== 'string' || FOLDED.has(key)) continue;
    slot.extras[key] = `${typeof slot.extras[key] === 'string' ? slot.extras[key] : ''}${value}`;
  }
  const logprobs = isRecord(c['logprobs']) ? c['logprobs']['content'] : undefined;
  if (Array.isArray(logprobs)) slot.logprobs = [...(slot.logprobs ?? []), ...logprobs];
  if (typeof c['finish_reason'] === 'string') slot.finish = c['finish_reason'] as FinishReason;
}

function foldToolCall(slot: ChoiceSlot, call: Json): void {
  const index = typeof call['index'] === 'number' ? call['index'] : slot.toolCalls.size;
  const t = slot.toolCalls.get(index) ?? { id: '', type: 'function', name: '', arguments: '' };
  slot.toolCalls.set(index, t);
  if (typeof call['id'] === 'string' && call['id'] !== '') t.id = call['id'];
  const fn = isRecord(call['function']) ? call['function'] : {};
  if (typeof fn['name'] === 'string') t.name += fn['name'];
  if (typeof fn['arguments'] === 'string') t.arguments += fn['arguments'];
}

function toChoice(index: number, slot: ChoiceSlot): ChatCompletion['choices'][number] {
  const calls = [...slot.toolCalls.entries()].sort(([a], [b]) => a - b).map(([, t]) => ({ id: t.id, type: 'function' as const, function: { name: t.name, arguments: t.arguments } }));
  const message: ChatCompletion['choices'][number]['message'] & Json = { role: 'assistant', content: slot.content, refusal: slot.refusal, ...slot.extras };
  if (calls.length > 0) message.tool_calls = calls;
  return {
    index,
    message,
    logprobs: slot.logprobs === null ? null : ({ content: slot.logprobs, refusal: null } as ChatCompletion['choices'][number]['logprobs']),
    // The translators always end a complete stream with a finish chunk; `stop` only guards the type.
    finish_reason: slot.finish ?? 'stop',
  };
}

function errorFromEvent(e: Json): UpstreamError {
  const type = typeof e['type'] === 'string' ? e['type'] : 'api_error';
  const message = typeof e['message'] === 'string' ? e['message'] : 'The model provider returned an error.';
  const code = typeof e['code'] === 'string' ? e['code'] : null;
  const param = typeof e['param'] === 'string' ? e['param'] : null;
  return new UpstreamError(STATUS_BY_TYPE[type] ?? 502, type as OpenAIErrorType, message, { code, param });
}
