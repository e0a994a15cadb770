import type { OutputFormat, ToolMode, ToolResultView, ToolSpec } from '../../model/conversation.ts';
import { PromptCounter } from '../../model/tokens.ts';
import type { BodyReply } from '../../reply.ts';
import { asArray, asInt, asString, isObject, type JsonObject, type JsonParse } from '../../unknown.ts';
import type { ParsedRequest } from '../provider.ts';
import { anthropicBadRequest } from './errors.ts';
import { parseAnthropicOutput, prefillOf } from './output.ts';
import { checkSampling } from './sampling.ts';
import { checkThinkingBlocks, loopOpening } from './thinking-signature.ts';

const TOOL_ID = /^[a-zA-Z0-9_-]+$/;

function textOf(content: unknown, counter: PromptCounter): string {
  if (typeof content === 'string') {
    counter.text(content);
    return content;
  }
  let text = '';
  for (const b of asArray(content)) {
    if (!isObject(b)) continue;
    if (b['type'] === 'text' && typeof b['text'] === 'string') text += b['text'];
    else if (b['type'] === 'image' || b['type'] === 'document') counter.image();
  }
  counter.text(text);
  return text;
}

interface Walk {
  readonly lastUserText: string;
  readonly toolResults: ToolResultView[];
}

/** Validates block shapes and tool_use/tool_result pairing the way the Messages API does. */
function walkMessages(messages: readonly unknown[], counter: PromptCounter): Walk | BodyReply {
  let lastUserText = '';
  let toolResults: ToolResultView[] = [];
  let prevToolUses = new Map<string, string>();
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    if (!isObject(m)) return anthropicBadRequest(`messages.${i}: Input should be a valid dictionary`);
    const role = m['role'];
    if (role !== 'user' && role !== 'assistant') return anthropicBadRequest(`messages.${i}.role: Input should be 'user' or 'assistant'`);
    const content = m['content'];
    const blocks = typeof content === 'string' ? [] : asArray(content);
    const isFinalAssistant = i === messages.length - 1 && role === 'assistant';
    if ((content === '' || (Array.isArray(content) && content.length === 0)) && !isFinalAssistant) {
      return anthropicBadRequest(`messages.${i}: all messages must have non-empty content except for the optional final assistant message`);
    }
    if (typeof content !== 'string' && !Array.isArray(content)) return anthropicBadRequest(`messages.${i}.content: Field required`);
    const toolUses = new Map<string, string>();
    const results: ToolResultView[] = [];
    for (let j = 0; j < blocks.length; j++) {
      const b = blocks[j];
      if (!isObject(b)) return anthropicBadRequest(`messages.${i}.content.${j}: Input should be a valid dictionary`);
      if (b['type'] === 'text' && (typeof b['text'] !== 'string' || b['text'].length === 0)) {
        return anthropicBadRequest('messages: text content blocks must be non-empty');
      }
      if (b['type'] === 'tool_use') {
        const id = asString(b['id']) ?? '';
        if (!TOOL_ID.test(id)) return anthropicBadRequest(`messages.${i}.content.${j}.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'`);
        const name = asString(b['name']) ?? '';
        toolUses.set(id, name);
        counter.text(name);
        counter.json(b['input']);
      }
      if (b['type'] === 'tool_result') {
        const id = asString(b['tool_use_id']) ?? '';
        const name = prevToolUses.get(id);
        if (name === undefined) {
          return anthropicBadRequest(
            `messages.${i}.content.${j}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${id}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`,
          );
        }
        results.push({ name, content: textOf(b['content'], counter) });
      }
    }
    if (prevToolUses.size > 0) {
      const got = new Set(blocks.filter(isObject).map((b) => asString(b['tool_use_id'])));
      const missing = [...prevToolUses.keys()].filter((id) => !got.has(id));
      if (missing.length > 0) {
        return anthropicBadRequest(
          `messages.${i - 1}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`,
        );
      }
    }
    const text = textOf(content, counter);
    if (role === 'user') {
      toolResults = results;
      if (text.length > 0) lastUserText = text;
    }
    prevToolUses = toolUses;
  }
  return { lastUserText, toolResults };
}

function parseTools(body: JsonObject, counter: PromptCounter): ToolSpec[] {
  const tools: ToolSpec[] = [];
  for (const t of asArray(body['tools'])) {
    if (!isObject(t) || t['input_schema'] === undefined) continue;
    const name = asString(t['name']);
    if (name === undefined) continue;
    counter.json(t);
    tools.push({ name, schema: t['input_schema'] });
  }
  return tools;
}

function parseToolChoice(choice: unknown, tools: readonly ToolSpec[]): ToolMode | BodyReply {
  if (choice === undefined) return { kind: 'auto' };
  if (!isObject(choice)) return anthropicBadRequest('tool_choice: Input should be a valid dictionary');
  if (tools.length === 0 && choice['type'] !== 'none' && choice['type'] !== 'auto') {
    return anthropicBadRequest('tool_choice may only be specified while providing tools.');
  }
  switch (choice['type']) {
    case 'auto':
      return { kind: 'auto' };
    case 'none':
      return { kind: 'none' };
    case 'any':
      return { kind: 'required', allowed: undefined };
    case 'tool': {
      const name = asString(choice['name']) ?? '';
      if (!tools.some((t) => t.name === name)) return anthropicBadRequest(`tool_choice: Tool '${name}' not found in tools`);
      return { kind: 'required', allowed: [name] };
    }
    default:
      return anthropicBadRequest("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'");
  }
}

/**
 * Claude follows a system prompt that asks for a JSON object (Anthropic's documented way to
 * get JSON without a schema, and what the gateway sends for OpenAI's `json_object`): the
 * simulated model then answers with a JSON object too.
 */
// No leading \b: system blocks are joined as they come, so the instruction may follow a word directly.
const JSON_OBJECT_ASKED = /respond with (?:a |one )?(?:single )?(?:valid )?JSON object\b/i;

function followsJsonInstruction(output: OutputFormat, instructions: string): OutputFormat {
  return output.kind === 'text' && JSON_OBJECT_ASKED.test(instructions) ? { kind: 'json_object' } : output;
}

/** Validates an Anthropic Messages body the way the API does and normalises it. */
export function parseAnthropicRequest(parsed: JsonParse): ParsedRequest | BodyReply {
  if (!parsed.ok || !isObject(parsed.value)) {
    return anthropicBadRequest('There was an error parsing the body of your request. Please ensure your request body is valid JSON.');
  }
  const body = parsed.value;
  const model = asString(body['model']);
  if (model === undefined) return anthropicBadRequest('model: Field required');
  if (body['max_tokens'] === undefined) return anthropicBadRequest('max_tokens: Field required');
  const maxTokens = asInt(body['max_tokens']);
  if (maxTokens === undefined) return anthropicBadRequest('max_tokens: Input should be a valid integer');
  if (maxTokens < 1) return anthropicBadRequest('max_tokens: Input should be greater than or equal to 1');
  if (!Array.isArray(body['messages'])) return anthropicBadRequest('messages: Field required');
  const sampling = checkSampling(body, maxTokens);
  if ('kind' in sampling) return sampling;
  const output = parseAnthropicOutput(body);
  if (output.kind === 'body') return output;
  const counter = new PromptCounter();
  const instructions = textOf(body['system'], counter);
  const walk = walkMessages(body['messages'], counter);
  if ('kind' in walk) return walk;
  const unsigned = checkThinkingBlocks(body['messages']);
  if (unsigned !== undefined) return unsigned;
  const tools = parseTools(body, counter);
  const toolMode = parseToolChoice(body['tool_choice'], tools);
  if (toolMode.kind === 'body') return toolMode;
  const stream = body['stream'] === true;
  return {
    conv: {
      model,
      lastUserText: walk.lastUserText,
      toolResults: walk.toolResults,
      tools,
      toolMode,
      maxTokens,
      stop: asArray(body['stop_sequences']).filter((s): s is string => typeof s === 'string'),
      promptTokens: counter.tokens,
      instructions,
      output: followsJsonInstruction(output, instructions),
      prefill: prefillOf(body['messages']),
    },
    stream,
    sse: stream,
    includeUsage: false,
    obfuscation: false,
    // Without interleaved thinking Claude thinks once per turn: a continued tool loop gets no new block.
    ...(sampling.budget !== undefined && loopOpening(body['messages']) === -1 ? { thinking: true } : {}),
  };
}
