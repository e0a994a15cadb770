import type { StreamContext } from '../dialects/dialect.ts';
import { sseData } from '../sse/sse-encoder.ts';
import type { ChatCompletionChunk, FinishReason } from './chat-response.ts';
import { toOpenAIUsage, withCost, type Usage } from './usage.ts';

type Delta = ChatCompletionChunk['choices'][number]['delta'];

/**
 * OpenAI chunk events for one stream, shared by every translating dialect so that all of them
 * frame chunks the same way. With `include_usage`, every chunk but the usage chunk
 * carries `"usage": null`; without it no chunk has the key (wire README 2.4 rule 5).
 */
export class ChunkWriter {
  constructor(private readonly ctx: StreamContext) {}

  choice(delta: Delta, finishReason: FinishReason | null = null, index = 0): string {
    return this.write([{ index, delta, logprobs: null, finish_reason: finishReason }], null);
  }

  usage(usage: Usage): string {
    return this.write([], usage);
  }

  write(choices: ChatCompletionChunk['choices'], usage: Usage | null): string {
    const chunk: ChatCompletionChunk = {
      id: this.ctx.id,
      object: 'chat.completion.chunk',
      created: this.ctx.created,
      model: this.ctx.publicModel,
      choices,
    };
    if (this.ctx.includeUsage) chunk.usage = usage === null ? null : withCost(toOpenAIUsage(usage), usage, this.ctx.costOf);
    return sseData(chunk);
  }
}
