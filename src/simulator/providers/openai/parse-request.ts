import type { ToolMode, ToolResultView, ToolSpec } from '../../model/conversation.ts';
import { PromptCounter } from '../../model/tokens.ts';
import type { BodyReply } from '../../reply.ts';
import { asArray, asInt, asString, isObject, type JsonObject, type JsonParse } from '../../unknown.ts';
import type { ParsedRequest } from '../provider.ts';
import { openaiBadRequest } from './errors.ts';
import { parseOpenAIOutput } from './output.ts';

const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool', 'function']);
const EMPTY_OBJECT_SCHEMA = { type: 'object', properties: {} };

/** Text of a message `content` (string or parts); images are counted, other parts ignored. */
function contentText(content: unknown, counter: PromptCounter): string {
  if (typeof content === 'string') {
    counter.text(content);
    return content;
  }
  let text = '';
  for (const part of asArray(content)) {
    if (!isObject(part)) continue;
    if (part['type'] === 'text' && typeof part['text'] === 'string') text += part['text'];
    else if (part['type'] === 'refusal' && typeof part['refusal'] === 'string') text += part['refusal'];
    else if (part['type'] === 'image_url') counter.image();
  }
  counter.text(text);
  return text;
}

function parseTools(body: JsonObject, counter: PromptCounter): ToolSpec[] {
  const tools: ToolSpec[] = [];
  for (const t of asArray(body['tools'])) {
    if (!isObject(t) || t['type'] !== 'function' || !isObject(t['function'])) continue;
    const fn = t['function'];
    const name = asString(fn['name']);
    if (name === undefined) continue;
    counter.json(fn);
    tools.push({ name, schema: fn['parameters'] ?? EMPTY_OBJECT_SCHEMA });
  }
  return tools;
}

function namesOf(list: unknown): string[] {
  const names: string[] = [];
  for (const t of asArray(list)) {
    const name = isObject(t) && isObject(t['function']) ? asString(t['function']['name']) : undefined;
    if (name !== undefined) names.push(name);
  }
  return names;
}

function parseToolChoice(choice: unknown, tools: readonly ToolSpec[]): ToolMode | BodyReply {
  if (choice === undefined || choice === null || choice === 'auto') return { kind: 'auto' };
  if (tools.length === 0) {
    return openaiBadRequest("Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.", 'tool_choice');
  }
  if (choice === 'none') return { kind: 'none' };
  if (choice === 'required') return { kind: 'required', allowed: undefined };
  if (isObject(choice) && choice['type'] === 'function' && isObject(choice['function'])) {
    const name = asString(choice['function']['name']) ?? '';
    if (!tools.some((t) => t.name === name)) {
      return openaiBadRequest(`Invalid 'tool_choice': function '${name}' not found in 'tools'.`, 'tool_choice');
    }
    return { kind: 'required', allowed: [name] };
  }
  if (isObject(choice) && choice['type'] === 'allowed_tools' && isObject(choice['allowed_tools'])) {
    const allowed = namesOf(choice['allowed_tools']['tools']);
    return choice['allowed_tools']['mode'] === 'required' ? { kind: 'required', allowed } : { kind: 'auto' };
  }
  return openaiBadRequest("Invalid value for 'tool_choice'.", 'tool_choice', 'invalid_value');
}

interface Walk {
  readonly lastUserText: string;
  readonly toolResults: ToolResultView[];
  /** System and developer message text. */
  readonly instructions: string;
}

// Mirrors the API's pairing rules between assistant `tool_calls` and `tool` messages.
function walkMessages(messages: readonly unknown[], counter: PromptCounter): Walk | BodyReply {
  let lastUserText = '';
  let instructions = '';
  let toolResults: ToolResultView[] = [];
  let pending = new Map<string, string>();
  let pendingAt = -1;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    if (!isObject(m)) return openaiBadRequest(`Invalid type for 'messages[${i}]': expected an object.`, `messages[${i}]`, 'invalid_type');
    const role = asString(m['role']) ?? '';
    if (!ROLES.has(role)) {
      return openaiBadRequest(
        `Invalid value: '${role}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.`,
        `messages[${i}].role`,
        'invalid_value',
      );
    }
    if (role !== 'tool' && pending.size > 0) return unanswered(pending, pendingAt);
    if (role === 'tool') {
      const id = asString(m['tool_call_id']) ?? '';
      if (id.length > MAX_TOOL_CALL_ID) return idTooLong(`messages[${i}].tool_call_id`, id);
      const name = pending.get(id);
      if (name === undefined) {
        return openaiBadRequest(
          "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
          `messages.[${i}].role`,
        );
      }
      pending.delete(id);
      toolResults.push({ name, content: contentText(m['content'], counter) });
      continue;
    }
    toolResults = [];
    const text = contentText(m['content'], counter);
    if (role === 'user') lastUserText = text;
    if (role === 'system' || role === 'developer') instructions += text;
    if (role === 'assistant') {
      pending = new Map();
      pendingAt = i;
      const calls = asArray(m['tool_calls']);
      for (let k = 0; k < calls.length; k++) {
        const call = calls[k];
        if (!isObject(call) || !isObject(call['function'])) continue;
        const id = asString(call['id']) ?? '';
        if (id.length > MAX_TOOL_CALL_ID) return idTooLong(`messages[${i}].tool_calls[${k}].id`, id);
        const fnName = asString(call['function']['name']) ?? '';
        counter.text(fnName);
        counter.json(call['function']['arguments']);
        pending.set(id, fnName);
      }
    }
  }
  if (pending.size > 0) return unanswered(pending, pendingAt);
  return { lastUserText, toolResults, instructions };
}

/** OpenAI's schema limit on tool-call ids, with the API's own wording for a longer one. */
const MAX_TOOL_CALL_ID = 40;

function idTooLong(param: string, id: string): BodyReply {
  return openaiBadRequest(
    `Invalid '${param}': string too long. Expected a string with maximum length ${MAX_TOOL_CALL_ID}, but got a string with length ${id.length} instead.`,
    param,
    'string_above_max_length',
  );
}

function unanswered(pending: ReadonlyMap<string, string>, at: number): BodyReply {
  return openaiBadRequest(
    `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${[...pending.keys()].join(', ')}`,
    `messages.[${at}].role`,
  );
}

function parseStop(stop: unknown): string[] {
  if (typeof stop === 'string') return [stop];
  return asArray(stop).filter((s): s is string => typeof s === 'string');
}

/** Validates an OpenAI chat-completions body the way the API does and normalises it. */
export function parseOpenAIRequest(parsed: JsonParse): ParsedRequest | BodyReply {
  if (!parsed.ok || !isObject(parsed.value)) {
    return openaiBadRequest(
      "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)",
    );
  }
  const body = parsed.value;
  const model = asString(body['model']);
  if (model === undefined || model.length === 0) return openaiBadRequest('you must provide a model parameter');
  if (!Array.isArray(body['messages'])) {
    return openaiBadRequest("Missing required parameter: 'messages'.", 'messages', 'missing_required_parameter');
  }
  if (body['messages'].length === 0) {
    return openaiBadRequest("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", 'messages', 'empty_array');
  }
  const counter = new PromptCounter();
  const walk = walkMessages(body['messages'], counter);
  if ('kind' in walk) return walk;
  const tools = parseTools(body, counter);
  const toolMode = parseToolChoice(body['tool_choice'], tools);
  if (toolMode.kind === 'body') return toolMode;
  const maxTokens = asInt(body['max_completion_tokens']) ?? asInt(body['max_tokens']);
  if (maxTokens !== undefined && maxTokens < 1) {
    return openaiBadRequest(`Invalid 'max_tokens': integer below minimum value. Expected a value >= 1, but got ${maxTokens} instead.`, 'max_tokens', 'integer_below_min_value');
  }
  const shape = parseOpenAIOutput(body);
  if ('kind' in shape) return shape;
  const stream = body['stream'] === true;
  const options = isObject(body['stream_options']) ? body['stream_options'] : {};
  return {
    conv: {
      model,
      lastUserText: walk.lastUserText,
      toolResults: walk.toolResults,
      tools,
      toolMode,
      maxTokens,
      stop: parseStop(body['stop']),
      promptTokens: counter.tokens,
      instructions: walk.instructions,
      output: shape.output,
      choices: shape.choices,
    },
    stream,
    sse: stream,
    includeUsage: stream && options['include_usage'] === true,
    obfuscation: options['include_obfuscation'] !== false,
  };
}
