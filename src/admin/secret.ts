import { randomInt } from 'node:crypto';

/** Prefix of every key the admin API mints (gateway.yaml keys may look like anything). */
export const KEY_PREFIX = 'sk-llmx-';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** 40 base62 characters: about 238 bits from the CSPRNG. */
const RANDOM_CHARS = 40;

/** A new gateway key secret: `sk-llmx-` + 40 base62 characters (crypto.randomInt: unbiased). */
export function newKeySecret(): string {
  let s = KEY_PREFIX;
  for (let i = 0; i < RANDOM_CHARS; i++) s += BASE62[randomInt(62)];
  return s;
}

/** How a listing shows a key: `sk-llmx-...abcd` (prefix and the last 4 characters only). */
export function redactedKey(hint: string): string {
  return `${KEY_PREFIX}...${hint}`;
}
