import { UpstreamError } from '../../errors/gateway-error.ts';
import { toOpenAIErrorEvent } from '../../errors/to-openai.ts';
import type { ChatCompletionChunk } from '../../openai/chat-response.ts';
import { fromOpenAIUsage, type Usage } from '../../openai/usage.ts';
import { SseDecoder } from '../../sse/sse-decoder.ts';
import { SSE_DONE, sseData } from '../../sse/sse-encoder.ts';
import type { StreamContext, StreamTranslator } from '../dialect.ts';
import { parseOpenAIError } from './errors.ts';

const NO_HEADERS = (): undefined => undefined;

/**
 * OpenAI-compatible SSE → OpenAI SSE: event by event, the id and model are re-labelled, usage
 * is recorded, and the usage chunk that the gateway forced on is dropped when the caller did
 * not ask for it. An error object in the stream becomes an OpenAI error event, then the end.
 */
export class OpenAIStreamTranslator implements StreamTranslator {
  private readonly decoder = new SseDecoder();
  private state: 'open' | 'done' | 'failed' | 'ended' = 'open';
  private sawFinish = false;
  private usageSeen: Usage | undefined;

  constructor(private readonly ctx: StreamContext) {}

  get usage(): Usage | undefined {
    return this.usageSeen;
  }

  push(chunk: Uint8Array): string {
    if (this.state === 'ended') throw new Error('OpenAIStreamTranslator.push after end');
    return this.translate(this.decoder.push(chunk));
  }

  end(): string {
    if (this.state === 'ended') throw new Error('OpenAIStreamTranslator.end called twice');
    let out = this.translate(this.decoder.end());
    if (this.state === 'open') {
      if (this.sawFinish) {
        // Some compatible servers omit [DONE]; the answer itself was complete.
        out += SSE_DONE;
      } else {
        out += toOpenAIErrorEvent(
          new UpstreamError(502, 'api_error', 'The model provider ended the stream before it was complete.', { code: 'upstream_stream_truncated' }),
        );
      }
    }
    this.state = 'ended';
    return out;
  }

  private translate(events: Array<{ data: string }>): string {
    let out = '';
    for (const ev of events) {
      if (this.state !== 'open') break;
      const data = ev.data;
      if (data === '[DONE]') {
        out += SSE_DONE;
        this.state = 'done';
        break;
      }
      let chunk: ChatCompletionChunk & { error?: unknown };
      try {
        chunk = JSON.parse(data) as ChatCompletionChunk & { error?: unknown };
      } catch (cause) {
        out += this.fail(new UpstreamError(502, 'api_error', 'The model provider sent a malformed stream event.', { cause, code: 'upstream_malformed' }));
        break;
      }
      if (chunk.error !== undefined) {
        const status = 502;
        out += this.fail(parseOpenAIError(status, NO_HEADERS, Buffer.from(data)));
        break;
      }
      out += this.relabel(chunk);
    }
    return out;
  }

  private relabel(chunk: ChatCompletionChunk): string {
    chunk.id = this.ctx.id;
    chunk.model = this.ctx.publicModel;
    if (chunk.usage) this.usageSeen = fromOpenAIUsage(chunk.usage) ?? this.usageSeen;
    const choices = chunk.choices;
    if (Array.isArray(choices)) {
      for (const c of choices) if (c.finish_reason) this.sawFinish = true;
    }
    if (!this.ctx.includeUsage) {
      // The usage chunk exists only because the gateway asked for it.
      if (Array.isArray(choices) && choices.length === 0 && chunk.usage) return '';
      delete chunk.usage;
    }
    return sseData(chunk);
  }

  private fail(err: UpstreamError): string {
    this.state = 'failed';
    return toOpenAIErrorEvent(err);
  }
}
