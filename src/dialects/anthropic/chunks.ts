import type { ChatCompletionChunk, FinishReason } from '../../openai/chat-response.ts';
import { toOpenAIUsage, type Usage } from '../../openai/usage.ts';
import { sseData } from '../../sse/sse-encoder.ts';
import type { StreamContext } from '../dialect.ts';

type Delta = ChatCompletionChunk['choices'][number]['delta'];

/**
 * OpenAI chunk events for one stream. With `include_usage`, every chunk but the usage chunk
 * carries `"usage": null`; without it no chunk has the key (wire README 2.4 rule 5).
 */
export class ChunkWriter {
  constructor(private readonly ctx: StreamContext) {}

  choice(delta: Delta, finishReason: FinishReason | null = null): string {
    return this.write([{ index: 0, delta, logprobs: null, finish_reason: finishReason }], null);
  }

  usage(usage: Usage): string {
    return this.write([], usage);
  }

  private write(choices: ChatCompletionChunk['choices'], usage: Usage | null): string {
    const chunk: ChatCompletionChunk = {
      id: this.ctx.id,
      object: 'chat.completion.chunk',
      created: this.ctx.created,
      model: this.ctx.publicModel,
      choices,
    };
    if (this.ctx.includeUsage) chunk.usage = usage === null ? null : toOpenAIUsage(usage);
    return sseData(chunk);
  }
}
