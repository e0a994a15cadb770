import { UpstreamError, type GatewayError } from '../../errors/gateway-error.ts';
import { ChunkNormalizer } from '../../openai/normalize-chunk.ts';
import { isRecord } from '../../openai/schema-parts.ts';
import { fromOpenAIUsage, type Usage } from '../../openai/usage.ts';
import { SseDecoder } from '../../sse/sse-decoder.ts';
import type { StreamContext, StreamTerminal, StreamTokens, StreamTranslator } from '../dialect.ts';
import { StreamTally } from '../stream-tally.ts';
import { parseOpenAIError } from './errors.ts';
import { upstreamMalformed, upstreamStreamTruncated } from '../../errors/upstream-mapping.ts';

const NO_HEADERS = (): undefined => undefined;

/**
 * OpenAI-compatible SSE → OpenAI SSE, event by event: every chunk is made to fit the OpenAI
 * schema by a ChunkNormalizer (relabelled, finish reasons mapped, usage made exact and emitted
 * once before `[DONE]` only when the caller asked for it). An error object in the stream, or a
 * provider-declared `finish_reason: "error"`, becomes an OpenAI error event, then the end.
 * These servers count tokens only in the final usage chunk: before it, the input is unknown and
 * the output is estimated from the streamed text.
 */
export class OpenAIStreamTranslator implements StreamTranslator {
  private readonly decoder = new SseDecoder();
  /** Terminal event and streamed text, for settlement; every `[DONE]` and error event goes through it. */
  private readonly tally = new StreamTally();
  /** Relays every piece of generated text to the tally, for the estimate of a stream stopped before its usage. */
  private readonly chunks: ChunkNormalizer;
  private state: 'open' | 'done' | 'failed' | 'ended' = 'open';

  constructor(ctx: StreamContext) {
    this.chunks = new ChunkNormalizer(ctx, (text) => this.tally.text(text));
  }

  get usage(): Usage | undefined {
    return fromOpenAIUsage(this.chunks.usage);
  }

  get terminal(): StreamTerminal | undefined {
    return this.tally.terminal;
  }

  /** OpenAI-compatible providers count only in the usage chunk at the end: before it, input is unknown and output estimated. */
  tokensSoFar(): StreamTokens {
    const u = this.usage;
    return this.tally.tokens({ promptTokens: u?.promptTokens, cachedTokens: u?.cachedTokens, completionTokens: u?.completionTokens });
  }

  push(chunk: Uint8Array): string {
    if (this.state === 'ended') throw new Error('OpenAIStreamTranslator.push after end');
    return this.translate(this.decoder.push(chunk));
  }

  end(): string {
    if (this.state === 'ended') throw new Error('OpenAIStreamTranslator.end called twice');
    let out = this.translate(this.decoder.end());
    if (this.state === 'open') {
      // Some compatible servers omit [DONE]; an answer whose every choice finished was complete.
      out += this.chunks.complete
        ? this.chunks.tail() + this.tally.done()
        : this.fail(upstreamStreamTruncated());
    }
    this.state = 'ended';
    return out;
  }

  private translate(events: Array<{ data: string }>): string {
    let out = '';
    for (const ev of events) {
      if (this.state !== 'open') break;
      if (ev.data === '[DONE]') {
        out += this.done();
        break;
      }
      let chunk: unknown;
      try {
        chunk = JSON.parse(ev.data);
      } catch (cause) {
        out += this.fail(upstreamMalformed(cause));
        break;
      }
      if (!isRecord(chunk)) {
        out += this.fail(upstreamMalformed(new Error('stream event is not a JSON object')));
        break;
      }
      if (chunk['error'] !== undefined && chunk['error'] !== null) {
        out += this.fail(parseOpenAIError(502, NO_HEADERS, Buffer.from(ev.data)));
        break;
      }
      const { text, error } = this.chunks.chunk(chunk);
      out += text;
      if (error) out += this.fail(error);
    }
    return out;
  }

  /** `[DONE]`: open choices are finished, the usage chunk goes out if asked; a stream with no answer at all is an error. */
  private done(): string {
    if (!this.chunks.sawChoice) {
      return this.fail(new UpstreamError(502, 'api_error', 'The model provider returned an empty response.', { code: 'upstream_empty' }));
    }
    this.state = 'done';
    return this.chunks.tail() + this.tally.done();
  }

  private fail(err: GatewayError): string {
    this.state = 'failed';
    return this.tally.error(err);
  }
}
