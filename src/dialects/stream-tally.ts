import type { GatewayError } from '../errors/gateway-error.ts';
import { toOpenAIErrorEvent } from '../errors/to-openai.ts';
import { estimateTokens } from '../lib/token-estimate.ts';
import { SSE_DONE } from '../sse/sse-encoder.ts';
import type { StreamTerminal, StreamTokens } from './dialect.ts';

/** What a provider has counted of a stream so far; undefined fields it has not sent yet. */
export interface ProviderCounts {
  promptTokens?: number | undefined;
  cachedTokens?: number | undefined;
  completionTokens?: number | undefined;
}

/**
 * The accounting half of a StreamTranslator: the characters the provider streamed (for the
 * estimate when it sent no output count) and the terminal event once written. Translators
 * write `[DONE]` and error events through `done()`/`error()` so the two can never disagree.
 */
export class StreamTally {
  #chars = 0;
  #terminal: StreamTerminal | undefined;

  /** Adds generated text (content, refusal, reasoning, tool name or arguments) to the estimate. */
  text(s: string | null | undefined): void {
    if (typeof s === 'string') this.#chars += s.length;
  }

  /** `data: [DONE]`, recorded as the terminal event unless one was already written. */
  done(): string {
    this.#terminal ??= { kind: 'done' };
    return SSE_DONE;
  }

  /** The OpenAI error event for `err`, recorded as the terminal event unless one was already written. */
  error(err: GatewayError): string {
    this.#terminal ??= { kind: 'error', error: err };
    return toOpenAIErrorEvent(err);
  }

  get terminal(): StreamTerminal | undefined {
    return this.#terminal;
  }

  /** The provider's counts where it sent them; the output estimated from the text seen otherwise. */
  tokens(counts: ProviderCounts): StreamTokens {
    const counted = counts.completionTokens;
    const out: StreamTokens = {
      promptTokens: counts.promptTokens,
      completionTokens: counted ?? estimateTokens(this.#chars),
      completionEstimated: counted === undefined,
    };
    if (counts.cachedTokens !== undefined) out.cachedTokens = counts.cachedTokens;
    return out;
  }
}
