import { createParser, type EventSourceParser } from 'eventsource-parser';
import type { ChatCompletion, FinishReason, OpenAIUsage } from '../../openai/chat-response.ts';
import { isRecord, type Json } from '../../openai/schema-parts.ts';
import type { NotStoredReason } from './cache-entry.ts';

interface ToolCallSlot {
  id: string;
  type: string;
  name: string[];
  arguments: string[];
}

interface ChoiceSlot {
  content: string[] | null;
  refusal: string[] | null;
  toolCalls: Map<number, ToolCallSlot>;
  /** Other delta strings (e.g. `reasoning_content`), concatenated the same way. */
  extras: Map<string, string[]>;
  logprobs: unknown[] | null;
  finish: FinishReason | null;
}

/** Delta keys folded on their own, or not part of a message (`role` is always `assistant`). */
const FOLDED = new Set(['role', 'content', 'refusal', 'tool_calls', 'function_call']);
/** Bytes counted per choice and per tool call for their fixed fields, so many tiny ones still reach the cap. */
const SLOT_BYTES = 64;

/**
 * Assembles the OpenAI SSE stream the gateway sends its caller into the chat.completion to
 * store, as the chunks pass: the stream itself is never held back or buffered, only what
 * it says (content, refusal, tool-call and other delta strings, logprobs, finish reasons,
 * usage), folded per choice as assemble-chunks.ts does. Memory is bounded by `maxBytes` (UTF-8
 * bytes of the folded strings and logprobs JSON, plus 64 per choice and tool call): past it the
 * accumulator drops what it holds and the answer is not stored (`too_large`).
 *
 * Feed it every piece of the caller's body in order (`push`, bytes or text, split anywhere),
 * then call `finish` once at the clean end of the response body.
 */
export class StreamAccumulator {
  private readonly parser: EventSourceParser;
  private readonly decoder = new TextDecoder('utf-8');
  private readonly choices = new Map<number, ChoiceSlot>();
  private head: { id: string; created: number; model: string; fingerprint?: string } | undefined;
  private usage: OpenAIUsage | undefined;
  private bytes = 0;
  private done = false;
  private failed: NotStoredReason | undefined;

  constructor(private readonly maxBytes: number) {
    this.parser = createParser({ onEvent: (event) => this.onData(event.data) });
  }

  /** Why the answer will not be stored, as soon as that is known (further pushes are then ignored). */
  get notStored(): NotStoredReason | undefined {
    return this.failed;
  }

  push(piece: Uint8Array | string): void {
    if (this.failed || this.done) return;
    this.parser.feed(typeof piece === 'string' ? piece : this.decoder.decode(piece, { stream: true }));
  }

  /**
   * The assembled completion, or why it is not stored. `usage`: the usage the request path
   * settled with (e.g. the translator's), used when the stream carried none because the caller
   * did not ask for `include_usage`.
   */
  finish(usage?: OpenAIUsage): { completion: ChatCompletion } | { reason: NotStoredReason } {
    if (!this.failed && !this.done) {
      this.parser.feed(this.decoder.decode());
      this.parser.feed('\n\n');
    }
    if (this.failed) return { reason: this.failed };
    if (!this.done || !this.head) return { reason: 'truncated' };
    const completion: ChatCompletion = {
      id: this.head.id,
      object: 'chat.completion',
      created: this.head.created,
      model: this.head.model,
      choices: [...this.choices.entries()].sort(([a], [b]) => a - b).map(([index, slot]) => toChoice(index, slot)),
    };
    if (this.head.fingerprint !== undefined) completion.system_fingerprint = this.head.fingerprint;
    const finalUsage = this.usage ?? usage;
    if (finalUsage) completion.usage = finalUsage;
    return { completion };
  }

  private fail(reason: NotStoredReason): void {
    this.failed = reason;
    this.choices.clear();
  }

  private count(n: number): boolean {
    this.bytes += n;
    if (this.bytes <= this.maxBytes) return true;
    this.fail('too_large');
    return false;
  }

  private onData(data: string): void {
    if (this.failed || this.done) return;
    if (data === '[DONE]') {
      this.done = true;
      return;
    }
    let chunk: unknown;
    try {
      chunk = JSON.parse(data);
    } catch {
      return this.fail('malformed');
    }
    if (!isRecord(chunk)) return this.fail('malformed');
    if (chunk['error'] !== undefined) return this.fail('upstream_error');
    if (!this.head && typeof chunk['id'] === 'string' && typeof chunk['created'] === 'number' && typeof chunk['model'] === 'string') {
      this.head = { id: chunk['id'], created: chunk['created'], model: chunk['model'] };
    }
    if (this.head && typeof chunk['system_fingerprint'] === 'string') this.head.fingerprint = chunk['system_fingerprint'];
    if (isRecord(chunk['usage'])) this.usage = chunk['usage'] as unknown as OpenAIUsage;
    if (!Array.isArray(chunk['choices'])) return;
    for (const c of chunk['choices']) if (isRecord(c) && !this.fold(c)) return;
  }

  /** False when the cap was crossed. */
  private fold(c: Json): boolean {
    const index = typeof c['index'] === 'number' ? c['index'] : 0;
    let slot = this.choices.get(index);
    if (!slot) {
      if (!this.count(SLOT_BYTES)) return false;
      slot = { content: null, refusal: null, toolCalls: new Map(), extras: new Map(), logprobs: null, finish: null };
      this.choices.set(index, slot);
    }
    const delta = isRecord(c['delta']) ? c['delta'] : {};
    if (typeof delta['content'] === 'string') {
      if (!this.count(Buffer.byteLength(delta['content']))) return false;
      (slot.content ??= []).push(delta['content']);
    }
    if (typeof delta['refusal'] === 'string') {
      if (!this.count(Buffer.byteLength(delta['refusal']))) return false;
      (slot.refusal ??= []).push(delta['refusal']);
    }
    if (Array.isArray(delta['tool_calls'])) for (const call of delta['tool_calls']) if (isRecord(call) && !this.foldToolCall(slot, call)) return false;
    for (const [key, value] of Object.entries(delta)) {
      if (typeof value !== 'string' || FOLDED.has(key)) continue;
      if (!this.count(Buffer.byteLength(value))) return false;
      const pieces = slot.extras.get(key);
      if (pieces) pieces.push(value);
      else slot.extras.set(key, [value]);
    }
    const logprobs = isRecord(c['logprobs']) ? c['logprobs']['content'] : undefined;
    if (Array.isArray(logprobs)) {
      if (!this.count(Buffer.byteLength(JSON.stringify(logprobs)))) return false;
      (slot.logprobs ??= []).push(...(logprobs as unknown[]));
    }
    if (typeof c['finish_reason'] === 'string') slot.finish = c['finish_reason'] as FinishReason;
    return true;
  }

  private foldToolCall(slot: ChoiceSlot, call: Json): boolean {
    const index = typeof call['index'] === 'number' ? call['index'] : slot.toolCalls.size;
    let t = slot.toolCalls.get(index);
    if (!t) {
      if (!this.count(SLOT_BYTES)) return false;
      t = { id: '', type: 'function', name: [], arguments: [] };
      slot.toolCalls.set(index, t);
    }
    if (typeof call['id'] === 'string' && call['id'] !== '') t.id = call['id'];
    if (typeof call['type'] === 'string') t.type = call['type'];
    const fn = isRecord(call['function']) ? call['function'] : {};
    for (const key of ['name', 'arguments'] as const) {
      const value = fn[key];
      if (typeof value !== 'string') continue;
      if (!this.count(Buffer.byteLength(value))) return false;
      t[key].push(value);
    }
    return true;
  }
}

function toChoice(index: number, slot: ChoiceSlot): ChatCompletion['choices'][number] {
  const message: ChatCompletion['choices'][number]['message'] & Json = {
    role: 'assistant',
    content: slot.content === null ? null : slot.content.join(''),
    refusal: slot.refusal === null ? null : slot.refusal.join(''),
  };
  for (const [key, pieces] of slot.extras) message[key] = pieces.join('');
  const calls = [...slot.toolCalls.entries()].sort(([a], [b]) => a - b);
  if (calls.length > 0) {
    message.tool_calls = calls.map(([, t]) => ({ id: t.id, type: t.type as 'function', function: { name: t.name.join(''), arguments: t.arguments.join('') } }));
  }
  return {
    index,
    message,
    logprobs: slot.logprobs === null ? null : ({ content: slot.logprobs, refusal: null } as ChatCompletion['choices'][number]['logprobs']),
    // Unlike assemble-chunks.ts, no default: a choice that never finished is not stored (whyNotStorable).
    finish_reason: slot.finish,
  };
}
