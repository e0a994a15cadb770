import { InternalError, type GatewayError } from '../../errors/gateway-error.ts';
import { upstreamStreamTruncated } from '../../errors/upstream-mapping.ts';
import type { ChatCompletionChunk } from '../../openai/chat-response.ts';
import { ChunkWriter } from '../../openai/chunk-writer.ts';
import type { Usage } from '../../openai/usage.ts';
import { SseDecoder, type EventSourceMessage } from '../../sse/sse-decoder.ts';
import type { StreamContext, StreamTerminal, StreamTokens, StreamTranslator } from '../dialect.ts';
import { StreamTally } from '../stream-tally.ts';
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
 * instead of closing like a success. Every event's `usageMetadata` is cumulative, so the tokens
 * so far are Google's own counts; the output is estimated only while no event has stated
 * `candidatesTokenCount`/`thoughtsTokenCount` (proto3 JSON omits zero counts).
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
  /** Whether the last usageMetadata stated an output count. */
  private outputCounted = false;
  private readonly tally = new StreamTally();
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

  get terminal(): StreamTerminal | undefined {
    return this.tally.terminal;
  }

  tokensSoFar(): StreamTokens {
    const u = this.lastUsage;
    return this.tally.tokens({
      promptTokens: u?.promptTokens,
      cachedTokens: u?.cachedTokens,
      completionTokens: this.outputCounted ? u?.completionTokens : undefined,
    });
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
      if (error) return out + this.tally.error(error);
    }
    const states = [...this.choices.entries()].sort(([a], [b]) => a - b);
    if (states.length === 0 || states.some(([, s]) => s.finish === undefined)) {
      return out + this.tally.error(upstreamStreamTruncated(new Error('stream ended without finishReason')));
    }
    for (const [index, state] of states) {
      const reason = state.finish === 'blocked' ? 'content_filter' : mapFinishReason(state.finish, state.toolCalls > 0);
      out += this.chunk([{ index, delta: {}, logprobs: null, finish_reason: reason }]);
    }
    if (this.ctx.includeUsage && this.lastUsage) out += this.writer.usage(this.lastUsage);
    return out + this.tally.done();
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
    return this.tally.error(error);
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
    if (response.usageMetadata) {
      const m = response.usageMetadata;
      this.lastUsage = mapUsage(m); // cumulative: last wins
      this.outputCounted = m.candidatesTokenCount != null || m.thoughtsTokenCount != null;
    }

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
      // Thoughts are billed as output though never sent on: they count for the estimate.
      this.tally.text(part.text);
      if (part.functionCall) this.tally.text(part.functionCall.name + JSON.stringify(part.functionCall.args ?? {}));
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
