import { InvalidRequestError } from '../errors/gateway-error.ts';
import { formatJsonPath } from '../lib/json-path.ts';

/**
 * Duplicate object keys are refused, at any depth. JSON.parse keeps the last of two equal keys,
 * and RFC 8259 (§4) leaves what other parsers do open: some keep the first. The gateway checks
 * the parsed value (the model the key may use, `stream`, ...) but forwards the caller's own bytes
 * to an OpenAI-compatible provider when nothing needs changing, so a provider keeping the first
 * `model` would serve one the gateway never authorized. Refusing keeps that fast path: what the
 * gateway checked is then the only reading the bytes have.
 */

/**
 * Members (key/value pairs) of every object in a parsed JSON value; iterative (any depth).
 * Indexed loops over Object.keys: Object.values/entries cost several times more on the large
 * dictionary-mode objects a hostile body can hold.
 */
export function countMembers(root: unknown): number {
  let members = 0;
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object') continue;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) stack.push(node[i]);
      continue;
    }
    const rec = node as Record<string, unknown>;
    const keys = Object.keys(rec);
    members += keys.length;
    for (let i = 0; i < keys.length; i++) {
      const value = rec[keys[i]!];
      if (value !== null && typeof value === 'object') stack.push(value);
    }
  }
  return members;
}

interface Frame {
  readonly isArray: boolean;
  readonly keys: Set<string>;
  /** The key or index this container sits at in its parent. */
  readonly at: string | number | undefined;
  index: number;
  key: string | undefined;
}

/**
 * The path of the first key that repeats in its object, in valid JSON `text`, or undefined.
 * A tokenizer run only once a body is known to hold a duplicate (the count check in
 * assertUniqueKeys), so the common path never pays for it.
 */
export function findDuplicateKey(text: string): Array<string | number> | undefined {
  const stack: Frame[] = [];
  let expectKey = false;
  // Each container below the root remembers where it sits in its parent.
  const pathTo = (key: string): Array<string | number> => [...stack.slice(1).map((f) => f.at!), key];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      let end = i + 1;
      for (; end < text.length; end++) {
        const d = text.charCodeAt(end);
        if (d === 0x5c) end++;
        else if (d === 0x22) break;
      }
      const top = stack.at(-1);
      if (expectKey && top && !top.isArray) {
        const raw = text.slice(i, end + 1);
        const key = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        if (top.keys.has(key)) return pathTo(key);
        top.keys.add(key);
        top.key = key;
      }
      expectKey = false;
      i = end;
    } else if (c === 0x7b || c === 0x5b) {
      const parent = stack.at(-1);
      const at = parent === undefined ? undefined : parent.isArray ? parent.index : parent.key;
      stack.push({ isArray: c === 0x5b, keys: new Set(), at, index: 0, key: undefined });
      expectKey = c === 0x7b;
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
    } else if (c === 0x2c) {
      const top = stack.at(-1);
      if (top?.isArray) top.index++;
      else expectKey = true;
    }
  }
  return undefined;
}

/**
 * Throws a 400 `invalid_json` naming the key path (`messages[0].role`) when `text` holds an
 * object with a repeated key. `json` is JSON.parse(text); `members` the member count the raw
 * scan found (request-limits.ts): a parsed value holds fewer only when keys repeated, so the
 * usual cost is one walk over the parsed value.
 */
export function assertUniqueKeys(json: unknown, text: string, members: number): void {
  if (countMembers(json) === members) return;
  const path = findDuplicateKey(text) ?? [];
  const param = formatJsonPath(path) || 'body';
  throw new InvalidRequestError(
    `The JSON body has the key '${param}' more than once; each key may appear only once in an object.`,
    { param, code: 'invalid_json' },
  );
}
