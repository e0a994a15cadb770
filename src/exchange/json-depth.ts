import { InvalidRequestError } from '../errors/gateway-error.ts';
import { formatJsonPath } from '../lib/json-path.ts';
import { checkRequestLimits, NO_REQUEST_LIMITS } from './request-limits.ts';

/**
 * How deeply arrays and objects may nest in a request body. Every later step that walks the
 * request recursively (JSON.stringify when a dialect re-serialises it, the Gemini schema
 * cleaner, the translators) then runs far from the stack limit: V8's JSON.stringify overflows
 * somewhere between 1,000 and 5,000 levels. 256 leaves room for the deepest JSON Schema a
 * provider takes (Gemini's cleaner stops at 64 schema levels, about 130 JSON levels).
 */
export const MAX_JSON_DEPTH = 256;

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Whether `body` (JSON text as UTF-8 bytes) nests arrays and objects deeper than `max`, measured
 * by the same one-pass byte scan that checks the request limits (request-limits.ts), so a
 * request body is scanned once. It does not validate: malformed input is JSON.parse's to refuse.
 */
export function nestsDeeperThan(body: Uint8Array, max: number): boolean {
  return checkRequestLimits(body, NO_REQUEST_LIMITS).depth > max;
}

/** nestsDeeperThan for JSON text already decoded (a tool call's `arguments` string, say). */
export function textNestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > max) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}

/**
 * A 400 naming `param` when JSON text the caller embedded in a string (tool call `arguments`,
 * which the Anthropic and Gemini translators parse into objects) nests deeper than `max`:
 * the request-level bound cannot see inside strings.
 */
export function assertEmbeddedJsonDepth(text: string, param: string, max: number = MAX_JSON_DEPTH): void {
  if (textNestsDeeperThan(text, max)) {
    throw new InvalidRequestError(`Invalid '${param}': JSON nested deeper than ${max} levels.`, { param, code: 'nesting_too_deep' });
  }
}

interface Visit {
  node: unknown;
  depth: number;
  key: PropertyKey | undefined;
  parent: Visit | undefined;
}

/** The path of the first value nested deeper than `max` (iterative: `json` may be very deep). */
function deepPath(json: unknown, max: number): PropertyKey[] {
  const stack: Visit[] = [{ node: json, depth: 1, key: undefined, parent: undefined }];
  while (stack.length > 0) {
    const visit = stack.pop()!;
    const { node } = visit;
    if (node === null || typeof node !== 'object') continue;
    if (visit.depth > max) {
      const path: PropertyKey[] = [];
      for (let v: Visit | undefined = visit; v?.key !== undefined; v = v.parent) path.push(v.key);
      return path.reverse();
    }
    const entries: Array<[PropertyKey, unknown]> = Array.isArray(node) ? node.map((v, i) => [i, v]) : Object.entries(node);
    for (const [key, value] of entries) stack.push({ node: value, depth: visit.depth + 1, key, parent: visit });
  }
  return [];
}

/**
 * The parameter to name for a too-deep value: the JSON Schema a tool or response_format
 * carries, the message, or the top-level field (not the full path: it is hundreds of segments).
 */
function paramOf(path: PropertyKey[]): string {
  const [first, second, third, fourth] = path;
  if (first === 'tools' && third === 'function' && fourth === 'parameters') return formatJsonPath(path.slice(0, 4));
  if (first === 'response_format' && second === 'json_schema' && third === 'schema') return formatJsonPath(path.slice(0, 3));
  if ((first === 'messages' || first === 'tools') && typeof second === 'number') return formatJsonPath(path.slice(0, 2));
  return formatJsonPath(path.slice(0, 1)) || 'body';
}

/**
 * Refuses a body whose nesting `depth` (BodyShape.depth, from the limits scan) is deeper than
 * MAX_JSON_DEPTH with a 400 naming the parameter, before anything parses or walks it. Malformed JSON passes through (the caller's parse reports it).
 */
export function assertJsonDepth(body: Uint8Array, depth: number, max: number = MAX_JSON_DEPTH): void {
  if (depth <= max) return;
  let json: unknown;
  try {
    // V8's JSON.parse is iterative: safe at any depth. Only the refused body pays for it.
    json = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch {
    return;
  }
  const param = paramOf(deepPath(json, max));
  throw new InvalidRequestError(`Invalid '${param}': JSON nested deeper than ${max} levels.`, { param, code: 'nesting_too_deep' });
}
