import type { z } from 'zod';
import { InvalidRequestError } from '../errors/gateway-error.ts';
import { formatJsonPath } from '../lib/json-path.ts';
import { chatRequestSchema, type ChatRequest } from '../openai/chat-request.ts';
import { assertJsonDepth } from './json-depth.ts';
import { assertUniqueKeys } from './duplicate-keys.ts';
import { checkRequestLimits, DEFAULT_REQUEST_LIMITS, type BodyShape, type RequestLimits } from './request-limits.ts';

/** Whether the caller sent something at `path` (zod 4 does not keep the offending input). */
function presentAt(json: unknown, path: ReadonlyArray<PropertyKey>): boolean {
  let node: unknown = json;
  for (const seg of path) {
    if (node === null || typeof node !== 'object') return false;
    const rec = node as Record<PropertyKey, unknown>;
    if (!(seg in rec)) return false;
    node = rec[seg];
  }
  return node !== undefined;
}

function describe(issue: z.core.$ZodIssue, param: string, missing: boolean): string {
  if (missing) return `Missing required parameter: '${param}'.`;
  if (issue.code === 'invalid_union' || issue.code === 'invalid_type') return `Invalid type for '${param}': ${issue.message}.`;
  if (issue.code === 'too_small' && issue.origin === 'array') return `Invalid '${param}': empty array. Expected an array with minimum length ${String(issue.minimum)}.`;
  return `Invalid value for '${param}': ${issue.message}.`;
}

/**
 * Body bytes → a validated ChatRequest, or a 400 that names the parameter. `limits` (gateway.yaml
 * `server.limits`) are checked on the raw bytes before JSON.parse, the expensive step for a body
 * of many small values; duplicate keys are refused (duplicate-keys.ts says why). The three
 * stages below, in order; heavy-work/parse-in-turns.ts runs them one event-loop turn each.
 */
export function parseChatRequest(body: Uint8Array, limits: RequestLimits = DEFAULT_REQUEST_LIMITS): ChatRequest {
  return validateChatRequest(parseRequestJson(body, scanRequestBody(body, limits)));
}

/** Stage 1: the limits and the nesting bound, on the raw bytes (one scan); the body's shape for stage 3. */
export function scanRequestBody(body: Uint8Array, limits: RequestLimits): BodyShape {
  if (body.length === 0) throw new InvalidRequestError('The request body is empty; expected a JSON object.', { code: 'invalid_json' });
  // The limits first: they refuse a body of many small values in one cheap scan.
  const shape = checkRequestLimits(body, limits);
  assertJsonDepth(body, shape.depth);
  return shape;
}

/** What stage 2 hands stage 3: the parsed body, its text (for the duplicate-key tokenizer) and the scan's shape. */
export interface ParsedRequestJson {
  readonly json: object;
  readonly text: string;
  readonly shape: BodyShape;
}

/** Stage 2: UTF-8 decode and JSON.parse; a 400 `invalid_json` unless the body is one JSON object. */
export function parseRequestJson(body: Uint8Array, shape: BodyShape): ParsedRequestJson {
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new InvalidRequestError('We could not parse the JSON body of your request. Expected a JSON object.', { code: 'invalid_json' });
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new InvalidRequestError('The request body must be a JSON object.', { code: 'invalid_json' });
  }
  return { json, text, shape };
}

/** Stage 3: the duplicate-key check and the schema (zod); a 400 naming the parameter. */
export function validateChatRequest({ json, text, shape }: ParsedRequestJson): ChatRequest {
  assertUniqueKeys(json, text, shape.members);
  const parsed = chatRequestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const param = formatJsonPath(issue.path) || 'body';
    const missing = issue.code === 'invalid_type' && !presentAt(json, issue.path);
    throw new InvalidRequestError(describe(issue, param, missing), { param, code: missing ? 'missing_required_parameter' : 'invalid_value' });
  }
  return parsed.data;
}
