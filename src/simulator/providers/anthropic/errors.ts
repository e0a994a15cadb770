import { alnum } from '../../ids.ts';
import type { BodyReply } from '../../reply.ts';
import type { ErrorContext } from '../provider.ts';

/** Anthropic `error.type` and default message for a status (wire README 3.5). */
function defaults(status: number, model: string): [type: string, message: string] {
  switch (status) {
    case 400:
      return ['invalid_request_error', 'Invalid request.'];
    case 401:
      return ['authentication_error', 'invalid x-api-key'];
    case 402:
      return ['billing_error', 'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.'];
    case 403:
      return ['permission_error', 'Your API key does not have permission to use the specified resource.'];
    case 404:
      return ['not_found_error', `model: ${model}`];
    case 413:
      return ['request_too_large', 'Request exceeds the maximum allowed number of bytes.'];
    case 429:
      return [
        'rate_limit_error',
        `This request would exceed your organization's rate limit of 50 requests per minute (org: 00000000-0000-4000-8000-000000000000, model: ${model}). For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later. You may also contact sales at https://claude.com/contact-sales to discuss your options for a rate limit increase.`,
      ];
    case 500:
      return ['api_error', 'Internal server error'];
    case 504:
      return ['timeout_error', 'Request timed out'];
    case 529:
      return ['overloaded_error', 'Overloaded'];
    default:
      return status >= 500 ? ['api_error', 'Internal server error'] : ['invalid_request_error', 'Invalid request.'];
  }
}

function retryable(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** Compact `{"type":"error","error":{type,message},"request_id":…}` with `request-id` and `x-should-retry`. */
export function anthropicError(status: number, type: string, message: string, retryAfter?: number): BodyReply {
  const requestId = `req_011C${alnum(20)}`;
  const headers: Record<string, string> = { 'content-type': 'application/json', 'request-id': requestId };
  if (retryable(status)) headers['x-should-retry'] = 'true';
  if (status === 429) {
    headers['anthropic-ratelimit-requests-limit'] = '50';
    headers['anthropic-ratelimit-requests-remaining'] = '0';
    headers['anthropic-ratelimit-requests-reset'] = new Date(Date.now() + (retryAfter ?? 1) * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  }
  if (retryAfter !== undefined) headers['retry-after'] = String(retryAfter);
  const body = JSON.stringify({ type: 'error', error: { type, message }, request_id: requestId });
  return { kind: 'body', status, headers, body };
}

/** 400 invalid_request_error with the API's message. */
export function anthropicBadRequest(message: string): BodyReply {
  return anthropicError(400, 'invalid_request_error', message);
}

/** The error an injected fault status produces. */
export function anthropicFaultError(status: number, ctx: ErrorContext): BodyReply {
  const [type, message] = defaults(status, ctx.model ?? 'claude-sonnet-4-5');
  return anthropicError(status, type, ctx.message ?? message, ctx.retryAfter);
}

/** In-stream error event; the stream ends after it without `message_stop`. */
export const ANTHROPIC_STREAM_ERROR =
  'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n';
