import type { z } from 'zod';
import { InvalidRequestError } from '../errors/gateway-error.ts';
import { chatRequestSchema, type ChatRequest } from '../openai/chat-request.ts';

function paramOf(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out ? `.${String(seg)}` : String(seg);
  return out;
}

function describe(issue: z.core.$ZodIssue, param: string): string {
  if (issue.code === 'invalid_type' && issue.input === undefined) return `Missing required parameter: '${param}'.`;
  if (issue.code === 'invalid_union' || issue.code === 'invalid_type') return `Invalid type for '${param}': ${issue.message}.`;
  if (issue.code === 'too_small' && issue.origin === 'array') return `Invalid '${param}': empty array. Expected an array with minimum length ${String(issue.minimum)}.`;
  return `Invalid value for '${param}': ${issue.message}.`;
}

/** Body bytes → a validated ChatRequest, or a 400 that names the parameter. */
export function parseChatRequest(body: Uint8Array): ChatRequest {
  if (body.length === 0) throw new InvalidRequestError('The request body is empty; expected a JSON object.', { code: 'invalid_json' });
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch {
    throw new InvalidRequestError('We could not parse the JSON body of your request. Expected a JSON object.', { code: 'invalid_json' });
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new InvalidRequestError('The request body must be a JSON object.', { code: 'invalid_json' });
  }
  const parsed = chatRequestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const param = paramOf(issue.path) || 'body';
    throw new InvalidRequestError(describe(issue, param), { param, code: issue.input === undefined ? 'missing_required_parameter' : 'invalid_value' });
  }
  return parsed.data;
}
