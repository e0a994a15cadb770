/**
 * Removes things that look like credentials from text that may reach a caller or a log:
 * provider keys (sk-…, sk-ant-…, AIza…), bearer tokens, and long opaque tokens.
 */
const PATTERNS: RegExp[] = [
  /\bsk-[A-Za-z0-9_-]{8,}/g,
  /\bAIza[0-9A-Za-z_-]{20,}/g,
  /\b(?:Bearer|bearer)\s+[A-Za-z0-9._~+/=-]{8,}/g,
  /\b[A-Za-z0-9_-]{40,}\b/g,
];

export function scrubSecrets(text: string): string {
  let out = text;
  for (const re of PATTERNS) out = out.replace(re, '[redacted]');
  return out;
}
