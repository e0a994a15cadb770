import { createHash } from 'node:crypto';
import type { AssistantMessage, ChatMessage } from '../openai/chat-request.ts';

/**
 * Tool-call ids in conversation history, fitted to what each provider accepts.
 *
 * A caller's history may hold ids minted by any provider the conversation passed through:
 * the gateway's Gemini ids carry a thought signature and run to ~160 characters, Anthropic's
 * are `toolu_…`, clients make their own. Providers never echo history ids back, so an id that
 * a provider cannot take is replaced by a stand-in for that request only. The stand-in is a
 * pure function of the id, so an assistant `tool_calls[].id` and the `tool_call_id` answering it
 * map alike on every replica without shared state.
 */

/** OpenAI refuses longer ids (400 `string_above_max_length` on `messages[i].tool_calls[k].id`). */
export const OPENAI_MAX_TOOL_CALL_ID_LENGTH = 40;

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const HASH_LENGTH = 24;

/**
 * `call_<24 alnum>`, derived from sha256(id): the shape of OpenAI's own ids (29 characters,
 * `[A-Za-z0-9_]`), so it fits OpenAI's length limit and Anthropic's `^[a-zA-Z0-9_-]+$`.
 * ~142 bits of the digest are kept, so two different ids do not meet in practice.
 */
export function hashedToolCallId(id: string): string {
  const digest = createHash('sha256').update(id, 'utf8').digest();
  let out = 'call_';
  // Byte mod 62 is slightly uneven; this is a fingerprint, not a secret, so it does not matter.
  for (let i = 0; i < HASH_LENGTH; i++) out += ALNUM[(digest[i] ?? 0) % ALNUM.length];
  return out;
}

/** True when OpenAI takes `id` as a tool-call id as it is. */
export function fitsOpenAI(id: string): boolean {
  return id.length <= OPENAI_MAX_TOOL_CALL_ID_LENGTH;
}

function remapAssistant(msg: AssistantMessage, fits: (id: string) => boolean): AssistantMessage | undefined {
  const calls = msg.tool_calls;
  if (calls === undefined || calls.every((call) => fits(call.id))) return undefined;
  return { ...msg, tool_calls: calls.map((call) => (fits(call.id) ? call : { ...call, id: hashedToolCallId(call.id) })) };
}

/**
 * `messages` with every tool-call id that `fits` refuses replaced by {@link hashedToolCallId},
 * in assistant `tool_calls` and `tool` messages alike. Returns undefined when every id fits, so
 * the common case allocates nothing; otherwise a new array sharing the unchanged messages.
 */
export function remapToolCallIds(messages: readonly ChatMessage[], fits: (id: string) => boolean): ChatMessage[] | undefined {
  let out: ChatMessage[] | undefined;
  messages.forEach((msg, i) => {
    let changed: ChatMessage | undefined;
    if (msg.role === 'assistant') changed = remapAssistant(msg, fits);
    else if (msg.role === 'tool' && !fits(msg.tool_call_id)) changed = { ...msg, tool_call_id: hashedToolCallId(msg.tool_call_id) };
    if (changed === undefined) {
      out?.push(msg);
      return;
    }
    out ??= messages.slice(0, i);
    out.push(changed);
  });
  return out;
}
