import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { BodyReply } from '../../reply.ts';
import { asArray, isObject } from '../../unknown.ts';
import { anthropicBadRequest } from './errors.ts';

/**
 * Thinking-block signatures (and redacted_thinking data) the simulated Anthropic can check, as
 * the real API does: a block it did not sign, or one altered on the way back, is refused. A
 * value is 48 random bytes + an HMAC of them under a fixed key, base64: verifiable without
 * state, across simulator restarts. Not a secret: a test instrument.
 * https://docs.claude.com/en/docs/build-with-claude/extended-thinking#thinking-encryption
 */

const KEY = 'llm-extproc simulated anthropic thinking signatures';
const NONCE = 48;
const MAC = 32;

/** The signature covers the block's text (and, for redacted blocks, the data is the nonce itself). */
function mac(nonce: Uint8Array, text: string): Buffer {
  return createHmac('sha256', KEY).update(nonce).update(text, 'utf8').digest();
}

/** A fresh signature for a thinking block with `thinking` text (redacted_thinking: the text ''). */
export function mintThinkingSignature(thinking: string): string {
  const nonce = randomBytes(NONCE);
  return Buffer.concat([nonce, mac(nonce, thinking)]).toString('base64');
}

export function checkThinkingSignature(signature: string, thinking: string): boolean {
  const bytes = Buffer.from(signature, 'base64');
  if (bytes.length !== NONCE + MAC || bytes.toString('base64') !== signature) return false;
  return timingSafeEqual(bytes.subarray(NONCE), mac(bytes.subarray(0, NONCE), thinking));
}

/**
 * Every thinking / redacted_thinking block in the conversation must be one this simulator
 * signed, unmodified: thinking text, signature and data byte for byte.
 */
export function checkThinkingBlocks(messages: readonly unknown[]): BodyReply | undefined {
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    if (!isObject(m)) continue;
    const blocks = asArray(m['content']);
    for (let j = 0; j < blocks.length; j++) {
      const b = blocks[j];
      if (!isObject(b)) continue;
      if (b['type'] === 'thinking') {
        if (m['role'] !== 'assistant') return anthropicBadRequest(`messages.${i}.content.${j}: thinking blocks may only appear in assistant messages`);
        const { thinking, signature } = b;
        if (typeof thinking !== 'string') return anthropicBadRequest(`messages.${i}.content.${j}.thinking.thinking: Field required`);
        if (typeof signature !== 'string') return anthropicBadRequest(`messages.${i}.content.${j}.thinking.signature: Field required`);
        if (!checkThinkingSignature(signature, thinking)) return anthropicBadRequest(`messages.${i}.content.${j}: Invalid \`signature\` in \`thinking\` block`);
      } else if (b['type'] === 'redacted_thinking') {
        if (typeof b['data'] !== 'string' || !checkThinkingSignature(b['data'], '')) {
          return anthropicBadRequest(`messages.${i}.content.${j}: Invalid \`data\` in \`redacted_thinking\` block`);
        }
      }
    }
  }
  return undefined;
}

/**
 * Index of the assistant message that opened the current tool loop (Anthropic counts the loop
 * as one assistant turn; Claude thinks once, at its start), or -1 when the last assistant
 * message called no tools.
 */
export function loopOpening(messages: readonly unknown[]): number {
  let opening = -1;
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (!isObject(m)) break;
    const blocks = asArray(m['content']).filter(isObject);
    if (m['role'] === 'user') {
      if (!blocks.some((b) => b['type'] === 'tool_result')) break;
    } else {
      if (!blocks.some((b) => b['type'] === 'tool_use')) break;
      opening = i;
    }
  }
  return opening;
}
