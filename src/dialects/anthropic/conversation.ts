import type { AssistantMessage, ChatMessage, ToolCall } from '../../openai/chat-request.ts';
import type {
  ContentBlockParam,
  ImageBlockParam,
  MessageParam,
  TextBlockParam,
  ToolResultBlockParam,
  ToolUseBlockParam,
} from './wire-types.ts';
import { assistantBlocks, systemBlocks, textBlock, toolResultBlocks, userBlocks } from './content.ts';
import { invalid } from './invalid.ts';
import { sanitizeToolId } from './tool-ids.ts';
import { assertEmbeddedJsonDepth } from '../../exchange/json-depth.ts';

/**
 * OpenAI messages → Anthropic `system` + alternating user/assistant turns.
 * Anthropic's rules (wire README 3.2, 5.2, 5.3; https://docs.claude.com/en/api/messages):
 * no system role inside `messages`; the conversation starts with a user turn; same-role
 * neighbours form one turn; tool results live in the user turn right after the assistant
 * turn that called the tools, before any other content of that turn.
 */
export interface Conversation {
  system?: string | TextBlockParam[];
  messages: MessageParam[];
}

interface ToolCallRef {
  /** The id the caller sent, for error messages. */
  id: string;
  /** Path of the call in the OpenAI request, for error params. */
  param: string;
}

interface Turn {
  role: 'user' | 'assistant';
  results: ToolResultBlockParam[];
  blocks: Array<TextBlockParam | ImageBlockParam | ToolUseBlockParam>;
  /** Assistant turns: tool calls by sanitized id. */
  calls: Map<string, ToolCallRef>;
  /** User turns: sanitized ids answered by `results`. */
  answered: Set<string>;
}

export function translateConversation(messages: readonly ChatMessage[]): Conversation {
  const system: TextBlockParam[] = [];
  const turns: Turn[] = [];
  const callIds = new Set<string>();
  messages.forEach((msg, i) => {
    const param = `messages[${i}]`;
    switch (msg.role) {
      case 'system':
      case 'developer':
        // Hoisted even when it appears mid-conversation: Anthropic has one system prompt.
        system.push(...systemBlocks(msg.content, param));
        return;
      case 'user': {
        const blocks = userBlocks(msg.content, param);
        // An empty message adds no turn, so its neighbours can still merge.
        if (blocks.length > 0) turnFor(turns, 'user').blocks.push(...blocks);
        return;
      }
      case 'assistant':
        addAssistant(turns, msg, param, callIds);
        return;
      case 'tool':
        addToolResult(turns, msg.tool_call_id, msg.content, param);
        return;
      case 'function':
        throw invalid(`${param}.role`, 'The deprecated "function" role is not supported; use tool calls and "tool" messages.');
    }
  });
  checkAllCallsAnswered(turns);
  trimFinalAssistant(turns);
  const first = turns[0];
  if (first === undefined) throw invalid('messages', 'The conversation needs at least one non-empty user message.');
  if (first.role !== 'user') throw invalid('messages', 'The conversation must start with a user message (after any system messages).');
  const out: Conversation = { messages: turns.map(toMessageParam) };
  if (system.length === 1 && system[0] !== undefined) out.system = system[0].text;
  else if (system.length > 1) out.system = system;
  return out;
}

/** The open turn of `role`, or a new one: consecutive same-role messages merge. */
function turnFor(turns: Turn[], role: Turn['role']): Turn {
  const last = turns.at(-1);
  if (last?.role === role) return last;
  const turn: Turn = { role, results: [], blocks: [], calls: new Map(), answered: new Set() };
  turns.push(turn);
  return turn;
}

function addAssistant(turns: Turn[], msg: AssistantMessage, param: string, callIds: Set<string>): void {
  const text = msg.content == null ? [] : assistantBlocks(msg.content, param);
  const refusal = msg.refusal ? textBlock(msg.refusal) : [];
  const calls = (msg.tool_calls ?? []).map((call, j) => {
    const callParam = `${param}.tool_calls[${j}]`;
    return { use: toolUse(call, callParam, callIds), ref: { id: call.id, param: callParam } };
  });
  if (text.length + refusal.length + calls.length === 0) return;
  const turn = turnFor(turns, 'assistant');
  turn.blocks.push(...text, ...refusal);
  for (const { use, ref } of calls) {
    turn.blocks.push(use);
    turn.calls.set(use.id, ref);
  }
}

function toolUse(call: ToolCall, param: string, callIds: Set<string>): ToolUseBlockParam {
  const id = sanitizeToolId(call.id);
  if (callIds.has(id)) throw invalid(`${param}.id`, `Tool call id ${JSON.stringify(call.id)} is used more than once.`);
  callIds.add(id);
  return { type: 'tool_use', id, name: call.function.name, input: parseArguments(call.function.arguments, `${param}.function.arguments`) };
}

/** Anthropic wants the input object; OpenAI carries it as a JSON string (wire README 5.3). */
function parseArguments(args: string, param: string): Record<string, unknown> {
  // Some clients send "" for a call without arguments; its only meaning is {}.
  if (args.trim() === '') return {};
  assertEmbeddedJsonDepth(args, param);
  let value: unknown;
  try {
    value = JSON.parse(args);
  } catch {
    throw invalid(param, 'Tool call arguments are not valid JSON.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(param, 'Tool call arguments must be a JSON object.');
  }
  return value as Record<string, unknown>;
}

function addToolResult(turns: Turn[], toolCallId: string, content: ChatMessage['content'], param: string): void {
  const id = sanitizeToolId(toolCallId);
  const last = turns.at(-1);
  const caller = last?.role === 'assistant' ? last : turns.at(-2);
  if (caller === undefined || !caller.calls.has(id)) {
    throw invalid(`${param}.tool_call_id`, `tool_call_id ${JSON.stringify(toolCallId)} does not match a tool call of the preceding assistant message.`);
  }
  const turn = turnFor(turns, 'user');
  if (turn.answered.has(id)) throw invalid(`${param}.tool_call_id`, `Tool call ${JSON.stringify(toolCallId)} is answered more than once.`);
  turn.answered.add(id);
  const result: ToolResultBlockParam = { type: 'tool_result', tool_use_id: id };
  if (typeof content === 'string') {
    if (content !== '') result.content = content;
  } else if (content != null) {
    const blocks = toolResultBlocks(content, param);
    if (blocks.length > 0) result.content = blocks;
  }
  turn.results.push(result);
}

/** Both OpenAI and Anthropic reject a tool call that no tool message answers; say which one. */
function checkAllCallsAnswered(turns: readonly Turn[]): void {
  turns.forEach((turn, k) => {
    const answered = turns[k + 1]?.answered;
    for (const [id, ref] of turn.calls) {
      if (!answered?.has(id)) {
        throw invalid(ref.param, `Tool call ${JSON.stringify(ref.id)} has no "tool" message answering it right after the assistant message.`);
      }
    }
  });
}

/**
 * A final assistant turn is a prefill, and Anthropic rejects one that ends in whitespace
 * ("final assistant content cannot end with trailing whitespace").
 */
function trimFinalAssistant(turns: Turn[]): void {
  const last = turns.at(-1);
  if (last?.role !== 'assistant') return;
  const block = last.blocks.at(-1);
  if (block?.type !== 'text') return;
  block.text = block.text.trimEnd();
  if (block.text === '') last.blocks.pop();
  if (last.blocks.length === 0) turns.pop();
}

function toMessageParam(turn: Turn): MessageParam {
  const content: ContentBlockParam[] = [...turn.results, ...turn.blocks];
  const only = content[0];
  // A lone text block is sent in the string form, as Anthropic's own examples do.
  if (content.length === 1 && only?.type === 'text') return { role: turn.role, content: only.text };
  return { role: turn.role, content };
}
