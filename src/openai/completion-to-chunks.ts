import { SSE_DONE, sseData } from '../sse/sse-encoder.ts';
import type { ChatCompletion } from './chat-response.ts';
import type { ChunkLabel } from './normalize-chunk.ts';
import type { Json } from './schema-parts.ts';

/** Message keys that become their own deltas below; the rest (e.g. `reasoning_content`) ride on the first. */
const PLACED = new Set(['role', 'content', 'refusal', 'tool_calls', 'annotations', 'audio']);

/**
 * A provider's JSON answer to a stream request, as the stream OpenAI would have sent: per
 * choice a first chunk with `role: "assistant"` and the whole content (and refusal, logprobs),
 * one chunk with all tool calls (index, id, type, name, arguments), then a finish chunk; after
 * every choice the usage chunk (`choices: []`) when the caller asked for it
 * (`label.includeUsage`, then `usage: null` on every other chunk), then `data: [DONE]`.
 * `completion` must already be normalized (normalizeCompletion or a dialect's parseResponse).
 */
export function completionToChunks(completion: ChatCompletion, label: ChunkLabel): string {
  const head: Json = { id: label.id, object: 'chat.completion.chunk', created: completion.created, model: label.publicModel };
  if (typeof completion.system_fingerprint === 'string') head['system_fingerprint'] = completion.system_fingerprint;
  const write = (choices: Json[], usage: unknown = null): string => sseData({ ...head, choices, ...(label.includeUsage ? { usage } : {}) });
  let out = '';
  for (const choice of completion.choices) {
    const message = choice.message as ChatCompletion['choices'][number]['message'] & Json;
    const first: Json = { role: 'assistant', content: message.content ?? (message.tool_calls ? null : '') };
    if (message.refusal !== null && message.refusal !== undefined) first['refusal'] = message.refusal;
    for (const [key, value] of Object.entries(message)) if (!PLACED.has(key)) first[key] = value;
    out += write([{ index: choice.index, delta: first, logprobs: choice.logprobs, finish_reason: null }]);
    if (message.tool_calls && message.tool_calls.length > 0) {
      const calls = message.tool_calls.map((call, i) => ({ index: i, ...call }));
      out += write([{ index: choice.index, delta: { tool_calls: calls }, logprobs: null, finish_reason: null }]);
    }
    out += write([{ index: choice.index, delta: {}, logprobs: null, finish_reason: choice.finish_reason }]);
  }
  if (label.includeUsage && completion.usage) out += write([], completion.usage);
  return out + SSE_DONE;
}
