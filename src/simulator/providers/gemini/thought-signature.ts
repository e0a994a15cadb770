import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Thought signatures the simulated Gemini can check, as the real one does: it refuses a
 * signature it did not issue ("Corrupted thought signature."), so a gateway that alters one on
 * the way back fails here too. A signature is 64 random bytes + an HMAC of them under a fixed
 * key: verifiable without state, across simulator restarts. Not a secret: a test instrument.
 * https://ai.google.dev/gemini-api/docs/thought-signatures
 */

const KEY = 'llm-extproc simulated gemini thought signatures';
const NONCE = 64;
const MAC = 32;

/**
 * Google's documented stand-ins for a call the model never signed (FAQ: conversations from
 * another model, injected function calls); validation is skipped for them.
 */
const PLACEHOLDERS = new Set(['skip_thought_signature_validator', 'context_engineering_is_the_way_to_go']);

/** Proto-JSON `bytes`: standard or URL-safe base64, padding optional. */
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

function mac(nonce: Uint8Array): Buffer {
  return createHmac('sha256', KEY).update(nonce).digest();
}

/** A fresh signature in standard base64, shaped like Gemini 3's. */
export function mintThoughtSignature(): string {
  const nonce = randomBytes(NONCE);
  return Buffer.concat([nonce, mac(nonce)]).toString('base64');
}

/** What Gemini makes of a `thoughtSignature` value. */
export type SignatureCheck = 'valid' | 'not-base64' | 'corrupted';

export function checkThoughtSignature(value: string): SignatureCheck {
  if (PLACEHOLDERS.has(value)) return 'valid';
  const body = value.replace(/=+$/, '');
  if (!BASE64.test(value) || body.length % 4 === 1) return 'not-base64';
  const bytes = Buffer.from(body.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (bytes.length !== NONCE + MAC) return 'corrupted';
  return timingSafeEqual(bytes.subarray(NONCE), mac(bytes.subarray(0, NONCE))) ? 'valid' : 'corrupted';
}
