import { z } from 'zod';
import { InvalidRequestError } from '../../errors/gateway-error.ts';
import type { AssistantMessage, ChatMessage, ContentPart } from '../../openai/chat-request.ts';
import { assistantParts, systemTexts, toolResultText, userParts } from './parts.ts';
import { signFirstFunctionCall, thoughtSignatureFromId } from './tool-call-ids.ts';
import type { GeminiContent, GeminiPart, GeminiRequest, GeminiRole, JsonObject } from './wire-types.ts';
import { assertEmbeddedJsonDepth, MAX_JSON_DEPTH, textNestsDeeperThan } from '../../exchange/json-depth.ts';

/**
 * OpenAI messages → Gemini `systemInstruction` + `contents` (wire README 5.2, 5.3).
 * System/developer messages anywhere in the conversation are hoisted, in order, into
 * `systemInstruction`: Gemini has no system role inside `contents`, and inlining them as user
 * text would let a later user turn impersonate the system.
 */

/** Deprecated `function_call` on an assistant message (pre-tools API), still replayed by old clients. */
const legacyFunctionCall = z.looseObject({ name: z.string(), arguments: z.string() });

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** OpenAI arguments are a JSON string; Gemini `args` is a JSON object (README 5.3). */
function parseArguments(text: string, param: string): JsonObject {
  if (text.trim() === '') return {};
  assertEmbeddedJsonDepth(text, param);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InvalidRequestError('Tool call arguments are not valid JSON.', { param, cause: err });
  }
  if (!isObject(value)) throw new InvalidRequestError('Tool call arguments must be a JSON object.', { param });
  return value;
}

/**
 * `functionResponse.response` must be an object; by Gemini's convention other results go
 * under `output` (https://ai.google.dev/api/caching#FunctionResponse). A result that is a JSON
 * object is sent as that object, which is what the wire fixtures expect.
 */
function responseObject(text: string): JsonObject {
  // Too deep to re-serialise as an object: it goes as the text it is.
  if (textNestsDeeperThan(text, MAX_JSON_DEPTH)) return { output: text };
  try {
    const value: unknown = JSON.parse(text);
    return isObject(value) ? value : { output: value };
  } catch {
    return { output: text }; // plain text is a valid result, not an error
  }
}

class ContentBuilder {
  readonly contents: GeminiContent[] = [];
  readonly system: string[] = [];
  /** tool_call id → function name, from assistant turns seen so far (tool messages carry only the id). */
  private readonly names = new Map<string, string>();

  /** Consecutive same-role turns are merged: Gemini expects user and model to alternate. */
  add(role: GeminiRole, parts: GeminiPart[]): void {
    if (parts.length === 0) return;
    const last = this.contents.at(-1);
    if (last?.role === role) last.parts.push(...parts);
    else this.contents.push({ role, parts });
  }

  assistant(msg: AssistantMessage, i: number): void {
    const parts = msg.content ? assistantParts(msg.content, `messages[${i}].content`) : [];
    if (parts.length === 0 && msg.refusal) parts.push({ text: msg.refusal });
    const legacy = legacyFunctionCall.safeParse(msg.function_call);
    if (legacy.success) {
      const args = parseArguments(legacy.data.arguments, `messages[${i}].function_call.arguments`);
      parts.push({ functionCall: { name: legacy.data.name, args } });
    }
    (msg.tool_calls ?? []).forEach((call, k) => {
      const args = parseArguments(call.function.arguments, `messages[${i}].tool_calls[${k}].function.arguments`);
      this.names.set(call.id, call.function.name);
      const part: GeminiPart = { functionCall: { name: call.function.name, args } };
      const signature = thoughtSignatureFromId(call.id);
      if (signature) part.thoughtSignature = signature;
      parts.push(part);
    });
    this.add('model', parts);
  }

  toolResult(toolCallId: string, content: string | ContentPart[], i: number): void {
    const name = this.names.get(toolCallId);
    if (name === undefined) {
      throw new InvalidRequestError(
        `No assistant tool call with id "${toolCallId}" precedes this tool message.`,
        { param: `messages[${i}].tool_call_id` },
      );
    }
    const text = toolResultText(content, `messages[${i}].content`);
    this.add('user', [{ functionResponse: { name, response: responseObject(text) } }]);
  }

  message(msg: ChatMessage, i: number): void {
    switch (msg.role) {
      case 'system':
      case 'developer':
        this.system.push(...systemTexts(msg.content, `messages[${i}].content`));
        return;
      case 'user':
        this.add('user', userParts(msg.content, `messages[${i}].content`));
        return;
      case 'assistant':
        this.assistant(msg, i);
        return;
      case 'tool':
        this.toolResult(msg.tool_call_id, msg.content, i);
        return;
      case 'function':
        // Deprecated function-role results name their function directly.
        this.add('user', [{ functionResponse: { name: msg.name, response: responseObject(msg.content ?? '') } }]);
        return;
    }
  }
}

/** Throws InvalidRequestError for conversations Gemini cannot take (no user turn first, orphan tool results). */
export function translateMessages(messages: ChatMessage[]): Pick<GeminiRequest, 'systemInstruction' | 'contents'> {
  const builder = new ContentBuilder();
  messages.forEach((msg, i) => builder.message(msg, i));
  // After merging: a step is one model Content, and only its first functionCall is validated.
  for (const content of builder.contents) if (content.role === 'model') signFirstFunctionCall(content.parts);
  const first = builder.contents[0];
  if (!first) {
    throw new InvalidRequestError('messages must contain at least one non-empty user message.', { param: 'messages' });
  }
  if (first.role !== 'user') {
    throw new InvalidRequestError('The conversation must start with a user message, not an assistant message.', {
      param: 'messages',
    });
  }
  const out: Pick<GeminiRequest, 'systemInstruction' | 'contents'> = { contents: builder.contents };
  if (builder.system.length > 0) out.systemInstruction = { parts: builder.system.map((text) => ({ text })) };
  return out;
}
