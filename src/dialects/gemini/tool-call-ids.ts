import { randomBytes } from 'node:crypto';
import type { GeminiPart } from './wire-types.ts';

/**
 * Tool-call ids minted for Gemini function calls, carrying the call's `thoughtSignature`.
 *
 * Gemini API function calls have no id, and Gemini 3 rejects the next turn unless each
 * functionCall part comes back with the `thoughtSignature` it was returned with
 * (https://ai.google.dev/gemini-api/docs/thought-signatures). OpenAI messages have no slot
 * for it, and the gateway runs as several replicas without shared state, so the signature
 * travels inside the id the caller echoes back: `call_<24 alnum>[_ts_<base64url signature>]`.
 * The alphabet stays `^[a-zA-Z0-9_-]+$` because the same conversation may later be sent to
 * Anthropic, which enforces that pattern on tool_use ids. (OpenAI's 40-character limit is met
 * where the history goes to OpenAI: `../tool-call-ids.ts`.)
 */

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const RANDOM_LENGTH = 24;
const MARKER = '_ts_';
const MINTED = new RegExp(`^call_[A-Za-z0-9]{${RANDOM_LENGTH}}${MARKER}([A-Za-z0-9_-]+)$`);
/** Proto-JSON `bytes` are base64, standard or URL-safe alphabet, padding optional. */
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

function randomAlnum(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  // 248 = 4 * 62: rejecting bytes above it keeps the choice unbiased.
  for (let i = 0; i < bytes.length && out.length < length; i++) {
    const b = bytes[i] ?? 0;
    if (b < 248) out += ALNUM[b % 62];
  }
  return out.length === length ? out : out + randomAlnum(length - out.length);
}

/** A fresh `call_…` id; a valid base64 signature is embedded losslessly, anything else is left out. */
export function mintToolCallId(thoughtSignature?: string | null): string {
  const base = `call_${randomAlnum(RANDOM_LENGTH)}`;
  if (!thoughtSignature || !BASE64.test(thoughtSignature)) return base;
  const urlSafe = thoughtSignature.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  // A length of 1 mod 4 is not base64 at all; re-padding could not reproduce it.
  if (urlSafe.length % 4 === 1) return base;
  return `${base}${MARKER}${urlSafe}`;
}

/** The signature embedded by `mintToolCallId`, in standard padded base64; undefined for foreign ids. */
export function thoughtSignatureFromId(id: string): string | undefined {
  const match = MINTED.exec(id);
  const urlSafe = match?.[1];
  if (!urlSafe) return undefined;
  const standard = urlSafe.replace(/-/g, '+').replace(/_/g, '/');
  return standard + '='.repeat((4 - (standard.length % 4)) % 4);
}

/**
 * Google's documented stand-in for a signature the model never produced ("Thought signatures",
 * FAQ: conversations transferred from another model, or function calls the client injected):
 * Gemini 3 then skips validation for that part instead of refusing the turn with a 400.
 */
export const PLACEHOLDER_THOUGHT_SIGNATURE = 'skip_thought_signature_validator';

/**
 * Gemini 3 validates the signature on the first `functionCall` part of every model step
 * (parallel calls share the first one's). When that part has none — ids the client made, or
 * another provider's `toolu_…`/`call_…` ids after a failover — it gets the placeholder; parts
 * that carry a signature the gateway minted are left exactly as they are. Mutates `parts`.
 */
export function signFirstFunctionCall(parts: GeminiPart[]): void {
  const first = parts.find((part) => part.functionCall !== undefined);
  if (first !== undefined && !first.thoughtSignature) first.thoughtSignature = PLACEHOLDER_THOUGHT_SIGNATURE;
}
