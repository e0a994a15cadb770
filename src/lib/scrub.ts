import { isIPv6 } from 'node:net';

/**
 * Removes from provider text what must never reach a caller or a log: credentials (`sk-…`,
 * `sk-ant-…`, `AIza…` keys, bearer tokens, a `key=` query parameter, long random-looking
 * tokens), URLs, host names and IP addresses (the provider's or our own infrastructure), and
 * account ids (OpenAI `org-…`/`proj_…`, Google `projects/…` and project numbers).
 * Ordinary words, parameter paths (`contents[0].parts`) and model names (`gpt-4.1-mini`) survive.
 * The one scrubber for every dialect, so that a pattern added here protects all of them.
 */
const REDACTED = '[redacted]';
const URL = /\b(?:https?|wss?|ftp|grpcs?):\/\/[^\s"'`<>)\]]+/gi;
const PROVIDER_KEY = /\b(?:sk-[A-Za-z0-9_-]{8,}|AIza[0-9A-Za-z_-]{8,})/g;
const BEARER = /\b[Bb]earer\s+[A-Za-z0-9._~+/=-]{8,}/g;
const KEY_PARAM = /(\b(?:api[_-]?)?key=)[^&\s"']+/gi;
const ACCOUNT_ID = /\b(?:org-[A-Za-z0-9]{6,}|proj_[A-Za-z0-9]{6,})\b/g;
const GOOGLE_PROJECT = /\bprojects\/[A-Za-z0-9_.:-]+/g;
const PROJECT_NUMBER = /\bproject(?:[ _-]?(?:id|number))?\s*[:=#]?\s*['"]?\d{5,}['"]?/gi;
/** Host names under the top-level domains providers and internal networks use; optional port. */
const HOST =
  /\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:com|net|org|io|ai|dev|app|cloud|co|goog|google|internal|local|localdomain|svc|lan|corp|us|eu)\b(?::\d{1,5})?/gi;
const LOCALHOST = /\blocalhost(?::\d{1,5})?\b/gi;
const IPV4 = /\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b/g;
/** Candidates for IPv6 addresses (IPv4-mapped too, with an optional zone); `isIPv6` decides, so times like 12:30:45 survive. */
const IPV6_CANDIDATE = /(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:\.\d{1,3}){0,3}(?:%[\w.-]+)?(?![\w:])/g;
const LONG_TOKEN = /[A-Za-z0-9+/_=-]{32,}/g;

export function scrubSecrets(text: string): string {
  return text
    .replace(URL, REDACTED)
    .replace(PROVIDER_KEY, REDACTED)
    .replace(BEARER, REDACTED)
    .replace(KEY_PARAM, `$1${REDACTED}`)
    .replace(ACCOUNT_ID, REDACTED)
    .replace(GOOGLE_PROJECT, REDACTED)
    .replace(PROJECT_NUMBER, REDACTED)
    .replace(HOST, REDACTED)
    .replace(LOCALHOST, REDACTED)
    .replace(IPV6_CANDIDATE, (candidate) => (isIPv6(candidate.replace(/%.*$/, '')) ? REDACTED : candidate))
    .replace(IPV4, REDACTED)
    .replace(LONG_TOKEN, (token) => (looksRandom(token) ? REDACTED : token));
}

/** A long run with both letters and digits is a token; a long plain word is not. */
function looksRandom(token: string): boolean {
  return /[0-9]/.test(token) && /[A-Za-z]/.test(token);
}
