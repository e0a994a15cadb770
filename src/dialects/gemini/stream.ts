import { InternalError, type GatewayError } from '../../errors/gateway-error.ts';
import { toOpenAIErrorEvent } from '../../errors/to-openai.ts';
import type { ChatCompletionChunk } from '../../openai/chat-response.ts';
import { ChunkWriter } from '../../openai/chunk-writer.ts';
import type { Usage } from '../../openai/usage.ts';
import { SseDecoder, type EventSourceMessage } from '../../sse/sse-decoder.ts';
import { SSE_DONE } from '../../sse/sse-encoder.ts';
import type { StreamContext, StreamTranslator } from '../dialect.ts';
import { geminiErrorOf, malformedUpstream, upstreamErrorFrom } from './errors.ts';
import { mapFinishReason, mapUsage } from './mapping.ts';
import { textOfPart, toolCallFromPart } from './response.ts';
import { generateContentResponseSchema, type Candidate } from './wire-types.ts';

/**
 * Gemini `streamGenerateContent?alt=sse` → OpenAI chunks (wire README 4.4, 5.7).
 * Each Gemini event holds only new parts; a functionCall arrives whole, so it becomes one
 * tool-call delta with the complete arguments. Finish chunks are held until the upstream body
 * ends: then every part has been seen (a call after the finishReason still turns the reason
 * into `tool_calls`), and a body that ends without a finishReason is reported as truncated
 * instead of closing like a success.
 */

type Delta = ChatCompletionChunk['choices'][number]['delta'];

interface ChoiceState {
  toolCalls: number;
  /** Gemini's finishReason once seen; `blocked` for a prompt rejected before any candidate. */
  finish: string | undefined;
}

/** Bytes kept to recognise a plain-JSON error body sent with a 200 (README 4.4): those are small. */
const RAW_LIMIT = 64 * 1024;

class GeminiStreamTranslator implements StreamTranslator {
  private readonly decoder = new SseDecoder();
  private readonly choices = new Map<number, ChoiceState>();
  private phase: 'open' | 'failed' | 'ended' = 'open';
  private lastUsage: Usage | undefined;
  private sawEvent = false;
  private raw: Uint8Array[] = [];
  private rawBytes = 0;

  private readonly writer: ChunkWriter;

  constructor(private readonly ctx: StreamContext) {
    this.writer = new ChunkWriter(ctx);
  }

  get usage(): Usage | undefined {
    return this.lastUsage;
  }

  push(chunk: Uint8Array): string {
    if (this.phase === 'ended') throw new InternalError('StreamTranslator.push called after end.');
    if (this.phase === 'failed') return '';
    this.keepRaw(chunk);
    return this.handle(this.decoder.push(chunk));
  }

  end(): string {
    if (this.phase === 'ended') throw new InternalError('StreamTranslator.end called twice.');
    const wasFailed = this.phase === 'failed';
    let out = wasFailed ? '' : this.handle(this.decoder.end());
    const failed = this.phase === 'failed';
    this.phase = 'ended';
    if (wasFailed || failed) return out;
    if (!this.sawEvent) {
      const error = this.rawError();
      if (error) return out + toOpenAIErrorEvent(error);
    }
    const states = [...this.choices.entries()].sort(([a], [b]) => a - b);
    if (states.length === 0 || states.some(([, s]) => s.finish === undefined)) {
      return out + toOpenAIErrorEvent(malformedUpstream('stream ended without finishReason'));
    }
    for (const [index, state] of states) {
      const reason = state.finish === 'blocked' ? 'content_filter' : mapFinishReason(state.finish, state.toolCalls > 0);
      out += this.chunk([{ index, delta: {}, logprobs: null, finish_reason: reason }]);
    }
    if (this.ctx.includeUsage && this.lastUsage) out += this.writer.usage(this.lastUsage);
    return out + SSE_DONE;
  }

  private keepRaw(chunk: Uint8Array): void {
    if (this.sawEvent || this.rawBytes > RAW_LIMIT) return;
    this.raw.push(chunk.slice()); // the caller may reuse its buffer
    this.rawBytes += chunk.length;
  }

  private rawError(): GatewayError | undefined {
    if (this.rawBytes > RAW_LIMIT) return undefined;
    try {
      const error = geminiErrorOf(JSON.parse(Buffer.concat(this.raw).toString('utf8')));
      return error ? upstreamErrorFrom(error.code ?? 500, error) : undefined;
    } catch {
      return undefined; // not a JSON error body: end() reports the stream as truncated instead
    }
  }

  private handle(events: EventSourceMessage[]): string {
    let out = '';
    for (const event of events) {
      if (this.phase !== 'open') break;
      this.sawEvent = true;
      this.raw = [];
      out += this.handleEvent(event.data);
    }
    return out;
  }

  private fail(error: GatewayError): string {
    this.phase = 'failed';
    return toOpenAIErrorEvent(error);
  }

  private handleEvent(data: string): string {
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch (err) {
      return this.fail(malformedUpstream('stream event is not JSON', err));
    }
    const error = geminiErrorOf(value);
    if (error) return this.fail(upstreamErrorFrom(error.code ?? 500, error));
    const parsed = generateContentResponseSchema.safeParse(value);
    if (!parsed.success) return this.fail(malformedUpstream('unexpected stream event shape', parsed.error));
    const response = parsed.data;
    if (response.usageMetadata) this.lastUsage = mapUsage(response.usageMetadata); // cumulative: last wins

    let out = '';
    const candidates = response.candidates ?? [];
    candidates.forEach((candidate, position) => {
      out += this.handleCandidate(candidate, candidate.index ?? position);
    });
    if (candidates.length === 0 && response.promptFeedback?.blockReason) {
      const [state, opening] = this.open(0);
      state.finish ??= 'blocked';
      out += opening;
    }
    return out;
  }

  /** Choice state, plus the role chunk when this is the choice's first appearance. */
  private open(index: number): [ChoiceState, string] {
    const existing = this.choices.get(index);
    if (existing) return [existing, ''];
    const state: ChoiceState = { toolCalls: 0, finish: undefined };
    this.choices.set(index, state);
    return [state, this.delta(index, { role: 'assistant', content: '' })];
  }

  private handleCandidate(candidate: Candidate, index: number): string {
    const [state, opening] = this.open(index);
    let out = opening;
    for (const part of candidate.content?.parts ?? []) {
      const text = textOfPart(part);
      if (text !== '') out += this.delta(index, { content: text });
      const call = toolCallFromPart(part);
      if (call) out += this.delta(index, { tool_calls: [{ index: state.toolCalls++, ...call }] });
    }
    if (candidate.finishReason) state.finish ??= candidate.finishReason;
    return out;
  }

  private delta(index: number, delta: Delta): string {
    return this.chunk([{ index, delta, logprobs: null, finish_reason: null }]);
  }

  private chunk(choices: ChatCompletionChunk['choices']): string {
    return this.writer.write(choices, null);
  }
}

/** A fresh translator for one upstream stream; see GeminiStreamTranslator for the contract. */
export function createGeminiStreamTranslator(ctx: StreamContext): StreamTranslator {
  return new GeminiStreamTranslator(ctx);
}
