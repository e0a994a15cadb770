import type { ChatCompletion, ResponseToolCall } from '../../openai/chat-response.ts';
import { toOpenAIUsage, type Usage } from '../../openai/usage.ts';
import type { ResponseContext, ThinkingBlock } from '../dialect.ts';
import { decodeJson, malformedResponse } from './malformed.ts';
import { finishReasonFor } from './stop-reason.ts';
import { mergeCounts, toUsage, ZERO_COUNTS } from './usage.ts';
import { messageSchema, type ContentBlock } from './wire-types.ts';

/**
 * Anthropic message JSON → OpenAI chat.completion (wire README 3.3, 5.3–5.6). Text blocks
 * are concatenated, tool_use blocks become tool_calls with Anthropic's ids, and blocks OpenAI
 * has no slot for (thinking, redacted_thinking, server-tool blocks) are dropped. An answer with
 * both thinking blocks and tool calls hands the blocks to `ctx.onThinking`, for the request that
 * continues the tool loop (thinking.ts).
 */
export function parseAnthropicResponse(body: Uint8Array, ctx: ResponseContext): { completion: ChatCompletion; usage: Usage } {
  const parsed = messageSchema.safeParse(decodeJson(body));
  if (!parsed.success) throw malformedResponse(parsed.error);
  const message = parsed.data;
  let text = '';
  let sawText = false;
  const toolCalls: ResponseToolCall[] = [];
  const thinking: ThinkingBlock[] = [];
  let unusable = false;
  for (const block of message.content) {
    if (isText(block)) {
      text += block.text;
      sawText = true;
    } else if (isToolUse(block)) {
      toolCalls.push({ id: block.id, type: 'function', function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) } });
    } else if (block.type === 'thinking' || block.type === 'redacted_thinking') {
      // One unusable block spoils the turn: giving back only some of them fails at Anthropic.
      const kept = thinkingBlockOf(block);
      if (kept === undefined) unusable = true;
      else thinking.push(kept);
    }
  }
  if (!unusable && thinking.length > 0 && toolCalls.length > 0) ctx.onThinking?.({ toolCallIds: toolCalls.map((c) => c.id), blocks: thinking });
  const usage = toUsage(mergeCounts(ZERO_COUNTS, message.usage));
  const completion: ChatCompletion = {
    id: ctx.id,
    object: 'chat.completion',
    created: ctx.created,
    model: ctx.publicModel,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          // OpenAI sends null content for a tool-call-only reply, a string otherwise.
          content: sawText || toolCalls.length === 0 ? text : null,
          refusal: null,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: finishReasonFor(message.stop_reason),
      },
    ],
    usage: toOpenAIUsage(usage),
  };
  return { completion, usage };
}

type TextBlock = Extract<ContentBlock, { type: 'text'; text: string }>;
type ToolUseBlock = Extract<ContentBlock, { type: 'tool_use'; id: string }>;

function isText(block: ContentBlock): block is TextBlock {
  return block.type === 'text' && typeof block['text'] === 'string';
}

function isToolUse(block: ContentBlock): block is ToolUseBlock {
  return block.type === 'tool_use';
}

/**
 * A thinking or redacted_thinking block as Anthropic sent it (only the fields the API takes
 * back), or undefined for any other block or one missing its signature or data.
 */
export function thinkingBlockOf(block: { readonly type: string; readonly [k: string]: unknown }): ThinkingBlock | undefined {
  if (block.type === 'thinking' && typeof block['thinking'] === 'string' && typeof block['signature'] === 'string' && block['signature'] !== '') {
    return { type: 'thinking', thinking: block['thinking'], signature: block['signature'] };
  }
  if (block.type === 'redacted_thinking' && typeof block['data'] === 'string' && block['data'] !== '') return { type: 'redacted_thinking', data: block['data'] };
  return undefined;
}
