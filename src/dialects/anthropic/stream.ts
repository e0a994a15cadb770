import { InternalError, type GatewayError } from '../../errors/gateway-error.ts';
import { upstreamMalformed, upstreamStreamTruncated } from '../../errors/upstream-mapping.ts';
import type { ChunkToolCallDelta } from '../../openai/chat-response.ts';
import type { Usage } from '../../openai/usage.ts';
import { SseDecoder, type EventSourceMessage } from '../../sse/sse-decoder.ts';
import type { StreamContext, StreamTerminal, StreamTokens, StreamTranslator, ThinkingBlock, ThinkingTurn } from '../dialect.ts';
import { StreamTally } from '../stream-tally.ts';
import { ChunkWriter } from '../../openai/chunk-writer.ts';
import { streamError } from './errors.ts';
import { finishReasonFor } from './stop-reason.ts';
import { mergeCounts, toUsage, ZERO_COUNTS, type AnthropicCounts } from './usage.ts';
import {
  contentBlockDeltaSchema,
  contentBlockStartSchema,
  errorBodySchema,
  eventTypeSchema,
  messageDeltaSchema,
  messageStartSchema,
} from './wire-types.ts';

/** What an open Anthropic content block turns into. */
type Block =
  | { kind: 'text' }
  /** `index` is the OpenAI tool-call ordinal, not Anthropic's block index (wire README 5.3). */
  | { kind: 'tool'; index: number; sentArguments: boolean; startInput: unknown }
  /** A thinking block, assembled from its deltas for ctx.onThinking; never sent to the caller. */
  | { kind: 'thinking'; thinking: string; signature: string }
  /** redacted_thinking, server-tool blocks: no Chat Completions slot (wire README 5.5). */
  | { kind: 'ignored' };

/** Events after message_start that carry something; `ping` and newer event types do not (wire README 3.4). */
const TRANSLATED_EVENTS: ReadonlySet<string> = new Set(['content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);

/** open: translating; done: `[DONE]` sent; failed: an error event sent. Nothing follows either. */
type Phase = 'open' | 'done' | 'failed';

/**
 * Anthropic Messages SSE → OpenAI chat.completion.chunk SSE, one upstream event at a time
 * (wire README 3.4, 5.7). Only a partial upstream event is ever held back. A stream that
 * fails (an `error` event, unreadable data, or an end without `message_stop`) ends with an
 * OpenAI error event and no `[DONE]`, so a client never mistakes it for a complete answer.
 * Input tokens are known from `message_start`; output tokens from the cumulative
 * `message_delta.usage.output_tokens`, estimated from the streamed text before that arrives
 * (message_start's `output_tokens` is a placeholder). Thinking and redacted_thinking blocks of an
 * answer that also calls tools are assembled as they pass (thinking_delta, signature_delta) and
 * handed to `ctx.onThinking` at message_stop, after that event's chunks were translated.
 */
export class AnthropicStreamTranslator implements StreamTranslator {
  readonly #decoder = new SseDecoder();
  readonly #out: ChunkWriter;
  readonly #includeUsage: boolean;
  readonly #blocks = new Map<number, Block>();
  #phase: Phase = 'open';
  #ended = false;
  #counts: AnthropicCounts | undefined;
  /** Whether a message_delta has stated the real output count (message_start's is a placeholder). */
  #outputCounted = false;
  readonly #tally = new StreamTally();
  #roleSent = false;
  #finishSent = false;
  #toolCalls = 0;
  readonly #onThinking: StreamContext['onThinking'];
  /** The answer's thinking blocks in block order; undefined without a sink or once one was unusable. And its tool-call ids. */
  #thinking: Array<ThinkingBlock | Extract<Block, { kind: 'thinking' }>> | undefined;
  readonly #toolCallIds: string[] = [];

  constructor(ctx: StreamContext) {
    this.#out = new ChunkWriter(ctx);
    this.#includeUsage = ctx.includeUsage;
    this.#onThinking = ctx.onThinking;
    if (ctx.onThinking) this.#thinking = [];
  }

  get usage(): Usage | undefined {
    return this.#counts === undefined ? undefined : toUsage(this.#counts);
  }

  get terminal(): StreamTerminal | undefined {
    return this.#tally.terminal;
  }

  tokensSoFar(): StreamTokens {
    const usage = this.usage;
    return this.#tally.tokens({
      promptTokens: usage?.promptTokens,
      cachedTokens: usage?.cachedTokens,
      completionTokens: this.#outputCounted ? usage?.completionTokens : undefined,
    });
  }

  push(chunk: Uint8Array): string {
    if (this.#ended) throw new InternalError('Stream translator received data after end().', { code: 'translator_misuse' });
    return this.#translate(this.#decoder.push(chunk));
  }

  end(): string {
    if (this.#ended) throw new InternalError('Stream translator ended twice.', { code: 'translator_misuse' });
    this.#ended = true;
    const out = this.#translate(this.#decoder.end());
    if (this.#phase !== 'open') return out;
    // The body ended cleanly but without message_stop: Envoy still lets the gateway write the error event.
    return out + this.#fail(upstreamStreamTruncated(new Error('stream ended without message_stop')));
  }

  #translate(events: readonly EventSourceMessage[]): string {
    let out = '';
    for (const event of events) {
      if (this.#phase !== 'open') break;
      out += this.#event(event);
    }
    return out;
  }

  #event(event: EventSourceMessage): string {
    let data: unknown;
    try {
      data = JSON.parse(event.data);
    } catch (err) {
      return this.#fail(upstreamMalformed(err));
    }
    const head = eventTypeSchema.safeParse(data);
    if (!head.success) return this.#fail(upstreamMalformed(head.error));
    const type = head.data.type;
    if (type === 'error' || event.event === 'error') return this.#upstreamError(data);
    if (type === 'message_start') return this.#messageStart(data);
    if (!TRANSLATED_EVENTS.has(type)) return '';
    if (this.#counts === undefined) return this.#fail(upstreamMalformed(new Error(`${type} before message_start`)));
    switch (type) {
      case 'content_block_start':
        return this.#blockStart(data);
      case 'content_block_delta':
        return this.#blockDelta(data);
      case 'content_block_stop':
        return this.#blockStop(data);
      case 'message_delta':
        return this.#messageDelta(data);
      case 'message_stop':
        return this.#messageStop();
      default:
        return '';
    }
  }

  #messageStart(data: unknown): string {
    const parsed = messageStartSchema.safeParse(data);
    if (!parsed.success) return this.#fail(upstreamMalformed(parsed.error));
    if (this.#counts !== undefined) return this.#fail(upstreamMalformed(new Error('second message_start')));
    // Input and cache counts are final here; output_tokens is a placeholder that message_delta replaces.
    this.#counts = mergeCounts(ZERO_COUNTS, parsed.data.message.usage);
    return '';
  }

  #blockStart(data: unknown): string {
    const parsed = contentBlockStartSchema.safeParse(data);
    if (!parsed.success) return this.#fail(upstreamMalformed(parsed.error));
    const { index, content_block: block } = parsed.data;
    if (this.#blocks.has(index)) return this.#fail(upstreamMalformed(new Error(`block ${index} started twice`)));
    if (block.type === 'tool_use' && typeof block['id'] === 'string' && typeof block['name'] === 'string') {
      const ordinal = this.#toolCalls++;
      this.#toolCallIds.push(block['id']);
      this.#tally.text(block['name']);
      this.#blocks.set(index, { kind: 'tool', index: ordinal, sentArguments: false, startInput: block['input'] });
      const call: ChunkToolCallDelta = { index: ordinal, id: block['id'], type: 'function', function: { name: block['name'], arguments: '' } };
      if (this.#roleSent) return this.#out.choice({ tool_calls: [call] });
      // A reply that opens with a tool call starts the way OpenAI's do: content null.
      this.#roleSent = true;
      return this.#out.choice({ role: 'assistant', content: null, tool_calls: [call] });
    }
    if (block.type === 'text' && typeof block['text'] === 'string') {
      this.#blocks.set(index, { kind: 'text' });
      return this.#role() + this.#content(block['text']);
    }
    if (block.type === 'thinking') {
      const open: Block = { kind: 'thinking', thinking: stringOr(block['thinking']), signature: stringOr(block['signature']) };
      this.#blocks.set(index, open);
      this.#thinking?.push(open);
      this.#tally.text(open.thinking);
    } else {
      if (block.type === 'redacted_thinking') {
        const data = block['data'];
        if (typeof data === 'string' && data !== '') this.#thinking?.push({ type: 'redacted_thinking', data });
        else this.#thinking = undefined;
      }
      this.#blocks.set(index, { kind: 'ignored' });
    }
    return this.#role();
  }

  #blockDelta(data: unknown): string {
    const parsed = contentBlockDeltaSchema.safeParse(data);
    if (!parsed.success) return this.#fail(upstreamMalformed(parsed.error));
    const { index, delta } = parsed.data;
    const block = this.#blocks.get(index);
    if (block === undefined) return this.#fail(upstreamMalformed(new Error(`delta for block ${index}, which is not open`)));
    if (block.kind === 'ignored') return '';
    if (block.kind === 'thinking') {
      // Thinking is billed as output though it has no Chat Completions slot: it counts for the estimate.
      // The text is kept only for a sink (ctx.onThinking).
      const keep = this.#thinking !== undefined;
      if (delta.type === 'thinking_delta' && typeof delta['thinking'] === 'string') {
        if (keep) block.thinking += delta['thinking'];
        this.#tally.text(delta['thinking']);
      } else if (delta.type === 'signature_delta' && typeof delta['signature'] === 'string') {
        if (keep) block.signature += delta['signature'];
      }
      return '';
    }
    if (delta.type === 'text_delta' && typeof delta['text'] === 'string') {
      if (block.kind !== 'text') return this.#fail(upstreamMalformed(new Error(`text_delta for ${block.kind} block ${index}`)));
      return this.#content(delta['text']);
    }
    if (delta.type === 'input_json_delta' && typeof delta['partial_json'] === 'string') {
      if (block.kind !== 'tool') return this.#fail(upstreamMalformed(new Error(`input_json_delta for text block ${index}`)));
      return this.#arguments(block, delta['partial_json']);
    }
    // citations_delta and newer delta types (wire README 5.7).
    return '';
  }

  #blockStop(data: unknown): string {
    const index = blockIndexOf(data);
    const block = index === undefined ? undefined : this.#blocks.get(index);
    if (index === undefined || block === undefined) return this.#fail(upstreamMalformed(new Error('content_block_stop for a block that is not open')));
    this.#blocks.delete(index);
    // A call that streamed no input fragments still needs parseable arguments: its start input, normally {}.
    if (block.kind === 'tool' && !block.sentArguments) return this.#arguments(block, JSON.stringify(block.startInput ?? {}));
    return '';
  }

  #messageDelta(data: unknown): string {
    const parsed = messageDeltaSchema.safeParse(data);
    if (!parsed.success) return this.#fail(upstreamMalformed(parsed.error));
    // Cumulative counts: the last message_delta wins, never a sum (wire README 5.6).
    this.#counts = mergeCounts(this.#counts ?? ZERO_COUNTS, parsed.data.usage ?? {});
    if (parsed.data.usage?.output_tokens != null) this.#outputCounted = true;
    const stopReason = parsed.data.delta.stop_reason;
    if (stopReason == null || this.#finishSent) return '';
    this.#finishSent = true;
    return this.#role() + this.#out.choice({}, finishReasonFor(stopReason));
  }

  #messageStop(): string {
    let out = this.#role();
    if (!this.#finishSent) {
      this.#finishSent = true;
      out += this.#out.choice({}, this.#toolCalls > 0 ? 'tool_calls' : 'stop');
    }
    const usage = this.usage;
    if (this.#includeUsage && usage !== undefined) out += this.#out.usage(usage);
    this.#phase = 'done';
    out += this.#tally.done();
    this.#keepThinking();
    return out;
  }

  /** Hands a tool-calling answer's signed thinking to ctx.onThinking (an unsigned block spoils the turn). */
  #keepThinking(): void {
    const blocks = this.#thinking;
    if (this.#onThinking === undefined || blocks === undefined || blocks.length === 0 || this.#toolCallIds.length === 0) return;
    const kept: ThinkingBlock[] = [];
    for (const b of blocks) {
      if ('type' in b) kept.push(b);
      else if (b.signature === '') return;
      else kept.push({ type: 'thinking', thinking: b.thinking, signature: b.signature });
    }
    const turn: ThinkingTurn = { toolCallIds: [...this.#toolCallIds], blocks: kept };
    this.#onThinking(turn);
  }

  #upstreamError(data: unknown): string {
    const parsed = errorBodySchema.safeParse(data);
    const info = parsed.success ? parsed.data.error : {};
    return this.#fail(streamError({ type: info.type, message: info.message }));
  }

  /** The first chunk of every stream names the role (wire README 2.4 rule 1). */
  #role(): string {
    if (this.#roleSent) return '';
    this.#roleSent = true;
    return this.#out.choice({ role: 'assistant', content: '' });
  }

  #content(text: string): string {
    this.#tally.text(text);
    return text === '' ? '' : this.#out.choice({ content: text });
  }

  #arguments(block: Extract<Block, { kind: 'tool' }>, fragment: string): string {
    if (fragment === '') return '';
    block.sentArguments = true;
    this.#tally.text(fragment);
    return this.#out.choice({ tool_calls: [{ index: block.index, function: { arguments: fragment } }] });
  }

  #fail(err: GatewayError): string {
    this.#phase = 'failed';
    return this.#tally.error(err);
  }
}

function blockIndexOf(data: unknown): number | undefined {
  if (typeof data !== 'object' || data === null || !('index' in data)) return undefined;
  return typeof data.index === 'number' ? data.index : undefined;
}

function stringOr(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
