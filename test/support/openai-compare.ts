import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';

/**
 * Semantic comparison of OpenAI chat-completions output with the wire fixtures' expected files,
 * following test/fixtures/wire/README.md section 6.2 (a TypeScript port of `tools/check.py
 * compare`). Ignored: id/created values (but they must be constant in a stream), model, chunk
 * boundaries, key order, whitespace, null-vs-absent optional fields, formatting inside
 * `function.arguments` (compared as parsed JSON). Enforced: content, tool calls per index,
 * exactly one finish_reason, usage numbers the expected file states, and stream framing.
 * Dialect-neutral: any dialect's tests may use it.
 */

export interface NormalizedToolCall {
  id: string | null;
  name: string;
  arguments: string;
}

export interface NormalizedOutput {
  content: string;
  refusal: string;
  role: string | null;
  /** By OpenAI `index` (streams) or position (completions). */
  toolCalls: Map<number, NormalizedToolCall>;
  finishReason: string | null;
  usage: Record<string, unknown> | null;
  /** The `error` object of an in-stream error event, if any. */
  error: Record<string, unknown> | null;
  /** Framing violations found while normalizing (empty for well-formed output). */
  problems: string[];
}

export interface ErrorEnvelope {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

export interface CompareOptions {
  /** For providers whose tool-call ids the gateway mints (Gemini). */
  ignoreToolCallIds?: boolean;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function asString(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** Splits OpenAI SSE text into `data:` payloads, checking the framing rules of section 6.2. */
export function parseOpenAISse(text: string, problems: string[] = []): string[] {
  if (text.includes('\r')) problems.push('contains CR characters; OpenAI framing is LF-only');
  if (text !== '' && !text.endsWith('\n\n')) problems.push('does not end with a blank line');
  const payloads: string[] = [];
  for (const raw of text.split('\n\n')) {
    if (raw === '') continue;
    const lines = raw.split('\n').filter((line) => !line.startsWith(':'));
    const only = lines[0];
    if (lines.length !== 1 || only === undefined || !only.startsWith('data:')) {
      problems.push(`event ${JSON.stringify(raw.slice(0, 80))}: OpenAI events carry exactly one "data:" line`);
      continue;
    }
    const value = only.slice('data:'.length);
    payloads.push(value.startsWith(' ') ? value.slice(1) : value);
  }
  return payloads;
}

/** Normalizes an OpenAI chat.completion.chunk stream (SSE text). */
export function normalizeStream(text: string): NormalizedOutput {
  const out = emptyOutput();
  const ids = new Set<unknown>();
  const createds = new Set<unknown>();
  let done = false;
  let finishCount = 0;
  let usageChunks = 0;
  for (const [i, data] of parseOpenAISse(text, out.problems).entries()) {
    if (done) out.problems.push(`event ${i}: data after [DONE]`);
    if (data === '[DONE]') {
      done = true;
      continue;
    }
    let obj: unknown;
    try {
      obj = JSON.parse(data);
    } catch {
      out.problems.push(`event ${i}: not JSON`);
      continue;
    }
    if (!isObject(obj)) {
      out.problems.push(`event ${i}: not a JSON object`);
      continue;
    }
    if (out.error !== null) out.problems.push(`event ${i}: data after an error event`);
    if (isObject(obj['error']) && !('choices' in obj)) {
      out.error = obj['error'];
      for (const key of ['message', 'type', 'param', 'code']) {
        if (!(key in obj['error'])) out.problems.push(`error event lacks error.${key}`);
      }
      continue;
    }
    if (obj['object'] !== 'chat.completion.chunk') out.problems.push(`event ${i}: object != chat.completion.chunk`);
    ids.add(obj['id']);
    createds.add(obj['created']);
    if (obj['usage'] !== undefined && obj['usage'] !== null) {
      usageChunks += 1;
      if (asArray(obj['choices']).length !== 0) out.problems.push(`event ${i}: usage chunk must have choices == []`);
      out.usage = isObject(obj['usage']) ? obj['usage'] : null;
    }
    for (const choice of asArray(obj['choices'])) {
      if (!isObject(choice)) continue;
      if (choice['index'] !== 0) out.problems.push(`event ${i}: only choice index 0 is expected`);
      const delta = isObject(choice['delta']) ? choice['delta'] : {};
      addDelta(out, delta, i);
      if (choice['finish_reason'] !== null && choice['finish_reason'] !== undefined) {
        finishCount += 1;
        out.finishReason = asString(choice['finish_reason']);
      }
    }
  }
  if (ids.size > 1) out.problems.push(`chunks carry different ids: ${[...ids].join(', ')}`);
  if (createds.size > 1) out.problems.push(`chunks carry different created values: ${[...createds].join(', ')}`);
  if (out.error === null) {
    if (!done) out.problems.push('stream does not end with data: [DONE]');
    if (finishCount !== 1) out.problems.push(`expected exactly one non-null finish_reason, got ${finishCount}`);
  } else if (done) {
    out.problems.push('stream has both an error event and [DONE]');
  }
  if (usageChunks > 1) out.problems.push('more than one usage chunk');
  return out;
}

function addDelta(out: NormalizedOutput, delta: Json, event: number): void {
  if (typeof delta['role'] === 'string' && delta['role'] !== '') {
    if (out.role !== null && out.role !== delta['role']) out.problems.push(`event ${event}: role changed mid-stream`);
    out.role ??= delta['role'];
  }
  out.content += asString(delta['content']);
  out.refusal += asString(delta['refusal']);
  for (const call of asArray(delta['tool_calls'])) {
    if (!isObject(call) || typeof call['index'] !== 'number') {
      out.problems.push(`event ${event}: tool call delta without a numeric index`);
      continue;
    }
    const slot = out.toolCalls.get(call['index']) ?? { id: null, name: '', arguments: '' };
    out.toolCalls.set(call['index'], slot);
    if (typeof call['id'] === 'string' && call['id'] !== '') {
      if (slot.id !== null && slot.id !== call['id']) out.problems.push(`tool call ${call['index']}: id changed`);
      slot.id = call['id'];
    }
    const fn = isObject(call['function']) ? call['function'] : {};
    slot.name += asString(fn['name']);
    slot.arguments += asString(fn['arguments']);
  }
}

/** Normalizes a non-stream chat.completion object. */
export function normalizeCompletion(obj: unknown): NormalizedOutput {
  const out = emptyOutput();
  if (!isObject(obj)) {
    out.problems.push('completion is not an object');
    return out;
  }
  if (obj['object'] !== 'chat.completion') out.problems.push('object != chat.completion');
  const choice = asArray(obj['choices'])[0];
  if (!isObject(choice) || !isObject(choice['message'])) {
    out.problems.push('completion has no choices[0].message');
    return out;
  }
  const message = choice['message'];
  out.role = typeof message['role'] === 'string' ? message['role'] : null;
  out.content = asString(message['content']);
  out.refusal = asString(message['refusal']);
  asArray(message['tool_calls']).forEach((call, i) => {
    const fn = isObject(call) && isObject(call['function']) ? call['function'] : {};
    if (!isObject(call) || call['type'] !== 'function') out.problems.push(`tool call ${i}: type != function`);
    const id = isObject(call) && typeof call['id'] === 'string' ? call['id'] : null;
    out.toolCalls.set(i, { id, name: asString(fn['name']), arguments: asString(fn['arguments']) });
  });
  out.finishReason = typeof choice['finish_reason'] === 'string' ? choice['finish_reason'] : null;
  out.usage = isObject(obj['usage']) ? obj['usage'] : null;
  return out;
}

function emptyOutput(): NormalizedOutput {
  return { content: '', refusal: '', role: null, toolCalls: new Map(), finishReason: null, usage: null, error: null, problems: [] };
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** Every difference between two normalized outputs that section 6.2 says must match. */
export function compareOutputs(expected: NormalizedOutput, actual: NormalizedOutput, options: CompareOptions = {}): string[] {
  const diffs = actual.problems.map((p) => `actual: ${p}`);
  if ((expected.error === null) !== (actual.error === null)) diffs.push('one side ends with an error event, the other does not');
  if (expected.content !== actual.content) diffs.push(`content: expected ${JSON.stringify(expected.content)}, got ${JSON.stringify(actual.content)}`);
  if (expected.refusal !== actual.refusal) diffs.push(`refusal: expected ${JSON.stringify(expected.refusal)}, got ${JSON.stringify(actual.refusal)}`);
  if (expected.finishReason !== actual.finishReason) diffs.push(`finish_reason: expected ${expected.finishReason}, got ${actual.finishReason}`);
  if (expected.role !== null && expected.role !== actual.role) diffs.push(`role: expected ${expected.role}, got ${actual.role}`);
  const expectedIdx = [...expected.toolCalls.keys()].sort((a, b) => a - b);
  const actualIdx = [...actual.toolCalls.keys()].sort((a, b) => a - b);
  if (!isDeepStrictEqual(expectedIdx, actualIdx)) diffs.push(`tool call indices: expected ${expectedIdx.join(',')}, got ${actualIdx.join(',')}`);
  const seenIds = new Set<string>();
  for (const [index, exp] of expected.toolCalls) {
    const act = actual.toolCalls.get(index);
    if (act === undefined) continue;
    if (exp.name !== act.name) diffs.push(`tool ${index}: name ${JSON.stringify(act.name)} != ${JSON.stringify(exp.name)}`);
    const expArgs = parseJson(exp.arguments);
    const actArgs = parseJson(act.arguments);
    if (!actArgs.ok) diffs.push(`tool ${index}: arguments are not valid JSON: ${JSON.stringify(act.arguments)}`);
    else if (!expArgs.ok || !isDeepStrictEqual(expArgs.value, actArgs.value)) {
      diffs.push(`tool ${index}: arguments ${act.arguments} != ${exp.arguments} (compared as JSON)`);
    }
    if (act.id === null || act.id === '') diffs.push(`tool ${index}: empty id`);
    else if (seenIds.has(act.id)) diffs.push(`tool ${index}: duplicate id`);
    else seenIds.add(act.id);
    if (!options.ignoreToolCallIds && exp.id !== act.id) diffs.push(`tool ${index}: id ${act.id} != ${exp.id}`);
  }
  diffs.push(...compareUsage(expected.usage, actual.usage));
  return diffs;
}

function compareUsage(expected: Json | null, actual: Json | null): string[] {
  if (expected === null) return [];
  if (actual === null) return ['usage missing'];
  const diffs: string[] = [];
  for (const key of ['prompt_tokens', 'completion_tokens', 'total_tokens']) {
    if (expected[key] !== actual[key]) diffs.push(`usage.${key}: expected ${String(expected[key])}, got ${String(actual[key])}`);
  }
  for (const [group, key] of [['prompt_tokens_details', 'cached_tokens'], ['completion_tokens_details', 'reasoning_tokens']] as const) {
    const exp = isObject(expected[group]) ? expected[group][key] : undefined;
    const act = isObject(actual[group]) ? (actual[group][key] ?? 0) : 0;
    if (exp !== undefined && exp !== act) diffs.push(`usage.${group}.${key}: expected ${String(exp)}, got ${String(act)}`);
  }
  return diffs;
}

/** Status, retry-after presence and the four-key error body (section 6.2 "Errors"). */
export function compareErrorEnvelopes(expected: ErrorEnvelope, actual: ErrorEnvelope): string[] {
  const diffs: string[] = [];
  if (expected.status !== actual.status) diffs.push(`status: expected ${expected.status}, got ${actual.status}`);
  const actualHeaders = new Set(Object.keys(actual.headers).map((h) => h.toLowerCase()));
  if ('retry-after' in expected.headers && !actualHeaders.has('retry-after')) diffs.push('retry-after header not propagated');
  const error = isObject(actual.body) && isObject(actual.body['error']) ? actual.body['error'] : {};
  for (const key of ['message', 'type', 'param', 'code']) {
    if (!(key in error)) diffs.push(`body.error.${key} missing`);
  }
  if (typeof error['message'] !== 'string' || error['message'] === '') diffs.push('body.error.message empty');
  return diffs;
}

/** Asserts that the actual SSE stream matches the expected one semantically. */
export function assertStreamMatches(expectedSse: string, actualSse: string, options: CompareOptions = {}): void {
  const expected = normalizeStream(expectedSse);
  assert.deepEqual(expected.problems, [], 'expected fixture is malformed');
  assert.deepEqual(compareOutputs(expected, normalizeStream(actualSse), options), []);
}

/** Asserts that the actual chat.completion matches the expected one semantically. */
export function assertCompletionMatches(expected: unknown, actual: unknown, options: CompareOptions = {}): void {
  assert.deepEqual(compareOutputs(normalizeCompletion(expected), normalizeCompletion(actual), options), []);
}

/** Asserts that the actual error envelope matches the expected one (section 6.2). */
export function assertErrorMatches(expected: ErrorEnvelope, actual: ErrorEnvelope): void {
  assert.deepEqual(compareErrorEnvelopes(expected, actual), []);
}
