import type { ChatCompletion, ResponseToolCall } from '../../openai/chat-response.ts';
import { toOpenAIUsage, type Usage } from '../../openai/usage.ts';
import type { ResponseContext } from '../dialect.ts';
import { geminiErrorOf, malformedUpstream, upstreamErrorFrom } from './errors.ts';
import { mapFinishReason, mapUsage } from './mapping.ts';
import { mintToolCallId } from './tool-call-ids.ts';
import { generateContentResponseSchema, type Candidate, type ResponsePart } from './wire-types.ts';

/**
 * Gemini generateContent JSON → OpenAI chat.completion (wire README 4.3, 5.3–5.6).
 * Thought parts are skipped (README 5.5); parts this gateway never asks for (inline images,
 * executable code) have no chat-completions slot and are ignored.
 */

type Choice = ChatCompletion['choices'][number];

/** One OpenAI tool call per functionCall part; the id carries the part's thought signature. */
export function toolCallFromPart(part: ResponsePart): ResponseToolCall | undefined {
  if (!part.functionCall) return undefined;
  return {
    id: mintToolCallId(part.thoughtSignature),
    type: 'function',
    function: { name: part.functionCall.name, arguments: JSON.stringify(part.functionCall.args ?? {}) },
  };
}

/** Visible text of a part: thoughts are the model's scratchpad, not its answer. */
export function textOfPart(part: ResponsePart): string {
  return part.thought || typeof part.text !== 'string' ? '' : part.text;
}

function choiceFrom(candidate: Candidate, index: number): Choice {
  const parts = candidate.content?.parts ?? [];
  const text = parts.map(textOfPart).join('');
  const toolCalls = parts.map(toolCallFromPart).filter((c): c is ResponseToolCall => c !== undefined);
  const message: Choice['message'] = { role: 'assistant', content: text === '' ? null : text, refusal: null };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  return {
    index,
    message,
    logprobs: null,
    finish_reason: mapFinishReason(candidate.finishReason, toolCalls.length > 0),
  };
}

function decodeJson(body: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(body));
  } catch (err) {
    throw malformedUpstream('body is not JSON', err);
  }
}

/** Dialect.parseResponse; throws UpstreamError (502) for bodies that are not a generateContent response. */
export function parseGeminiResponse(
  body: Uint8Array,
  ctx: ResponseContext,
): { completion: ChatCompletion; usage: Usage | undefined } {
  const value = decodeJson(body);
  const error = geminiErrorOf(value);
  if (error) throw upstreamErrorFrom(error.code ?? 500, error);
  const parsed = generateContentResponseSchema.safeParse(value);
  if (!parsed.success) throw malformedUpstream('unexpected generateContent shape', parsed.error);
  const response = parsed.data;

  const candidates = [...(response.candidates ?? [])]
    .map((candidate, position) => ({ candidate, order: candidate.index ?? position }))
    .sort((a, b) => a.order - b.order);
  let choices: Choice[] = candidates.map(({ candidate }, i) => choiceFrom(candidate, i));
  if (choices.length === 0) {
    // A blocked prompt has promptFeedback and no candidates (README 4.3).
    if (!response.promptFeedback?.blockReason) throw malformedUpstream('no candidates and no promptFeedback');
    choices = [{ index: 0, message: { role: 'assistant', content: null, refusal: null }, logprobs: null, finish_reason: 'content_filter' }];
  }

  const usage = response.usageMetadata ? mapUsage(response.usageMetadata) : undefined;
  const completion: ChatCompletion = {
    id: ctx.id,
    object: 'chat.completion',
    created: ctx.created,
    model: ctx.publicModel,
    choices,
  };
  if (usage) completion.usage = toOpenAIUsage(usage);
  return { completion, usage };
}
