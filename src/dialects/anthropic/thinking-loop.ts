import type { ChatMessage } from '../../openai/chat-request.ts';
import type { MessageParam } from './wire-types.ts';

/**
 * The current tool loop of a conversation, and the answer that opened it.
 *
 * Anthropic counts a tool loop as one assistant turn: the assistant messages that called tools
 * and the user messages holding their results, back to the user message that asked. Without
 * interleaved thinking (the gateway never sends that beta) Claude thinks once, at the start of
 * that turn, so only the loop's first answer carries thinking blocks, and with thinking on the
 * API wants exactly those back, unmodified; thinking of earlier, finished turns is not required
 * (Anthropic strips it). https://docs.claude.com/en/docs/build-with-claude/extended-thinking#extended-thinking-with-tool-use
 *
 * Both functions walk the same turns: runs of same-role messages (system messages are hoisted
 * out of the conversation). A user run that holds no tool result, or an assistant run that
 * calls no tool, ends the walk.
 */

/**
 * The caller's tool-call ids of the answer that opened the current tool loop, in order, or
 * undefined when the request does not continue a tool loop (its last assistant turn called no
 * tools). OpenAI messages: assistant `tool_calls`, `tool` results.
 */
export function loopOpeningCallIds(messages: readonly ChatMessage[]): string[] | undefined {
  let opening: string[] | undefined;
  let i = messages.length - 1;
  while (i >= 0) {
    const role = turnRole(messages[i]!);
    if (role === undefined) {
      i--;
      continue;
    }
    let hasTool = false;
    const ids: string[] = [];
    // One turn: consecutive messages of the same side (system messages do not split it).
    for (; i >= 0; i--) {
      const m = messages[i]!;
      const r = turnRole(m);
      if (r === undefined) continue;
      if (r !== role) break;
      if (m.role === 'tool') hasTool = true;
      if (m.role === 'assistant' && m.tool_calls !== undefined) ids.unshift(...m.tool_calls.map((c) => c.id));
    }
    if (role === 'user') {
      if (!hasTool) break;
    } else {
      if (ids.length === 0) break;
      opening = ids;
    }
  }
  return opening;
}

function turnRole(m: ChatMessage): 'user' | 'assistant' | undefined {
  if (m.role === 'assistant') return 'assistant';
  if (m.role === 'user' || m.role === 'tool') return 'user';
  return undefined;
}

/**
 * Index in `messages` (Anthropic turns, as translated) of the assistant turn that opened the
 * current tool loop, or -1 when the request does not continue one.
 */
export function loopOpeningIndex(messages: readonly MessageParam[]): number {
  let opening = -1;
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    const content = typeof m.content === 'string' ? [] : m.content;
    if (m.role === 'user') {
      if (!content.some((b) => b.type === 'tool_result')) break;
    } else {
      if (!content.some((b) => b.type === 'tool_use')) break;
      opening = i;
    }
  }
  return opening;
}

/** The tool_use ids of an Anthropic turn, in order. */
export function toolUseIds(message: MessageParam): string[] {
  if (typeof message.content === 'string') return [];
  const ids: string[] = [];
  for (const b of message.content) if (b.type === 'tool_use') ids.push(b.id);
  return ids;
}
