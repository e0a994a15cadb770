import { requestLimitsSchema } from '../config/schema.ts';
import { InvalidRequestError } from '../errors/gateway-error.ts';

/**
 * What one request body may hold (gateway.yaml `server.limits`). The ext_proc serves every
 * request on one event loop, and what a body costs it grows with the number of JSON values in
 * it (JSON.parse, validation and translation each visit every one), not only with its bytes:
 * 10 MB of 300,000 short messages took ~0.5 s. These bounds are checked on the raw bytes
 * before JSON.parse, so a refused body costs one scan.
 */
export interface RequestLimits {
  /** Most entries in `messages`. */
  readonly maxMessages: number;
  /** Most content parts (`messages[i].content` arrays), summed over all messages. */
  readonly maxContentParts: number;
  /** Most JSON values (objects, arrays, strings, numbers, booleans, nulls) in the whole body. */
  readonly maxJsonValues: number;
}

/** The defaults gateway.yaml's `server.limits` has (src/config/schema.ts). */
export const DEFAULT_REQUEST_LIMITS: RequestLimits = Object.freeze(requestLimitsSchema.parse({}));

/** What the scan learned about a body that passed it. */
export interface BodyShape {
  /** Object members (key/value pairs) in the text, duplicates included. */
  readonly members: number;
  /** JSON values in the text, the body itself included. */
  readonly values: number;
  /** Deepest nesting of arrays and objects (the body object is 1); json-depth.ts bounds it. */
  readonly depth: number;
}

/** No bound at all: for measuring a body's shape without refusing it. */
export const NO_REQUEST_LIMITS: RequestLimits = Object.freeze({ maxMessages: Infinity, maxContentParts: Infinity, maxJsonValues: Infinity });

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;

const MESSAGES = 'messages';
const CONTENT = 'content';

/**
 * Index of the quote that closes the string whose opening quote is at `open`, or -1. Short
 * strings (most keys and values) are stepped through byte by byte; a long one is skipped with
 * `indexOf` (native), which costs more per call but far less per byte.
 */
function closingQuote(buf: Buffer, open: number): number {
  const inlineEnd = Math.min(buf.length, open + 64);
  let j = open + 1;
  for (; j < inlineEnd; j++) {
    const c = buf[j];
    if (c === QUOTE) return j;
    if (c === BACKSLASH) j++;
  }
  if (j >= buf.length) return -1;
  // j is not inside an escape here: the loop above stepped over every escaped byte.
  let q = buf.indexOf(QUOTE, j);
  while (q !== -1) {
    let backslashes = 0;
    for (let k = q - 1; k >= j && buf[k] === BACKSLASH; k--) backslashes++;
    if (backslashes % 2 === 0) return q;
    q = buf.indexOf(QUOTE, q + 1);
  }
  return -1;
}

/**
 * The key between two quotes, decoded only when it holds an escape (`"messag\u0065s"`). Keys
 * longer than 256 bytes read as '' (no limit looks at them; an error then names 'body').
 */
function keyText(buf: Buffer, open: number, close: number): string {
  if (close - open > 257) return '';
  for (let j = open + 1; j < close; j++) {
    if (buf[j] !== BACKSLASH) continue;
    try {
      return JSON.parse(buf.toString('utf8', open, close + 1)) as string;
    } catch {
      return '';
    }
  }
  return buf.toString('utf8', open + 1, close);
}

function isSpace(c: number): boolean {
  return c === SPACE || c === LF || c === CR || c === TAB;
}

/** OpenAI's own wording and code for an array over its maximum length (e.g. `tools` over 128). */
function arrayTooLong(param: string, what: string, limit: number): InvalidRequestError {
  return new InvalidRequestError(`Invalid '${param}': array too long. Expected at most ${limit} ${what}.`, { param, code: 'array_above_max_length' });
}

/**
 * Counts `body` (JSON text as UTF-8 bytes) against `limits` in one pass, before it is parsed,
 * and throws a 400 naming the parameter at the first limit exceeded: `array_above_max_length`
 * for `messages` and `messages[i].content`, `too_many_json_values` naming the top-level field
 * holding the value that went over. Strings are skipped (a structural byte never occurs inside a UTF-8
 * multi-byte sequence, so a byte scan is exact); only top-level keys and a message's keys are
 * read. It does not validate: on malformed JSON the counts are approximate and JSON.parse
 * refuses the body afterwards.
 */
export function checkRequestLimits(body: Uint8Array, limits: RequestLimits = DEFAULT_REQUEST_LIMITS): BodyShape {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const isArray: boolean[] = [];
  let depth = 0;
  let deepest = 0;
  let values = 1;
  let members = 0;
  let messages = 0;
  let parts = 0;
  let topKey = '';
  let keyAtDepth3 = '';
  let expectKey = false;
  let pendingKey = '';
  let arrayOpened = false;

  const countValue = (): void => {
    if (++values > limits.maxJsonValues) {
      const param = topKey || 'body';
      throw new InvalidRequestError(
        `Invalid '${param}': the request body holds more than ${limits.maxJsonValues} JSON values (objects, arrays, strings, numbers, ...), the most this gateway accepts.`,
        { param, code: 'too_many_json_values' },
      );
    }
    if (topKey !== MESSAGES) return;
    if (depth === 2 && isArray[1] === true) {
      if (++messages > limits.maxMessages) throw arrayTooLong(MESSAGES, 'messages', limits.maxMessages);
    } else if (depth === 4 && isArray[3] === true && keyAtDepth3 === CONTENT) {
      if (++parts > limits.maxContentParts) {
        throw arrayTooLong(`messages[${messages - 1}].content`, 'content parts over all messages', limits.maxContentParts);
      }
    }
  };

  for (let i = 0; i < buf.length; i++) {
    const c = buf[i]!;
    if (isSpace(c)) continue;
    if (arrayOpened) {
      arrayOpened = false;
      if (c !== CLOSE_BRACKET) countValue();
    }
    if (c === QUOTE) {
      const close = closingQuote(buf, i);
      if (close === -1) break;
      // Keys matter only where a limit looks: top-level fields and a message's fields.
      if (expectKey && (depth === 1 || (depth === 3 && topKey === MESSAGES))) pendingKey = keyText(buf, i, close);
      expectKey = false;
      i = close;
    } else if (c === COLON) {
      members++;
      if (depth === 1) topKey = pendingKey;
      else if (depth === 3) keyAtDepth3 = pendingKey;
      pendingKey = '';
      countValue();
    } else if (c === COMMA) {
      if (isArray[depth - 1] === true) countValue();
      else expectKey = true;
    } else if (c === OPEN_BRACE) {
      isArray[depth++] = false;
      if (depth > deepest) deepest = depth;
      expectKey = true;
    } else if (c === OPEN_BRACKET) {
      isArray[depth++] = true;
      if (depth > deepest) deepest = depth;
      arrayOpened = true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (depth > 0) depth--;
    }
  }
  return { members, values, depth: deepest };
}
