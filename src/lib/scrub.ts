/**
 * Removes anything that looks like a credential from provider text before it reaches a caller
 * or a log: provider keys (`sk-…`, `sk-ant-…`, `AIza…`), bearer tokens, a `key=` query parameter
 * echoed back, and long random-looking tokens (org or key ids). Ordinary words and URLs survive.
 * The one scrubber for every dialect, so that a pattern added here protects all of them.
 */
const REDACTED = '[redacted]';
const PROVIDER_KEY = /\b(?:sk-[A-Za-z0-9_-]{8,}|AIza[0-9A-Za-z_-]{8,})/g;
const BEARER = /\b[Bb]earer\s+[A-Za-z0-9._~+/=-]{8,}/g;
const KEY_PARAM = /([?&]key=)[^&\s"']+/gi;
const LONG_TOKEN = /[A-Za-z0-9+/_=-]{32,}/g;

export function scrubSecrets(text: string): string {
  return text
    .replace(PROVIDER_KEY, REDACTED)
    .replace(BEARER, REDACTED)
    .replace(KEY_PARAM, `$1${REDACTED}`)
    .replace(LONG_TOKEN, (token) => (looksRandom(token) ? REDACTED : token));
}

/** A long run with both letters and digits is a token; a long plain word is not. */
function looksRandom(token: string): boolean {
  return /[0-9]/.test(token) && /[A-Za-z]/.test(token);
}
