/**
 * Removes anything that looks like a credential from provider text before a caller sees it:
 * Anthropic keys (`sk-ant-…`) and other `sk-…` keys, and long base64/hex-like tokens
 * (bearer tokens, org or key ids). Ordinary words and URLs survive.
 */
const SECRET_KEY = /\bsk-[A-Za-z0-9_-]{8,}/g;
const LONG_TOKEN = /[A-Za-z0-9+/_=-]{32,}/g;
const REDACTED = '[redacted]';

export function scrubSecrets(text: string): string {
  return text.replace(SECRET_KEY, REDACTED).replace(LONG_TOKEN, (token) => (looksRandom(token) ? REDACTED : token));
}

/** A long run with both letters and digits is a token; a long plain word is not. */
function looksRandom(token: string): boolean {
  return /[0-9]/.test(token) && /[A-Za-z]/.test(token);
}
