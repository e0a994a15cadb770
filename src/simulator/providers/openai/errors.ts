import { alnum } from '../../ids.ts';
import type { BodyReply } from '../../reply.ts';
import type { ErrorContext } from '../provider.ts';

interface OpenAIErrorInfo {
  readonly message: string;
  readonly type: string;
  readonly code: string | null;
  readonly param?: string | null;
}

// Bodies follow real captures quoted in the wire README, section 2.5.
function defaults(status: number, model: string): OpenAIErrorInfo {
  switch (status) {
    case 400:
      return { message: 'Invalid request.', type: 'invalid_request_error', code: null };
    case 401:
      return { message: 'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.', type: 'invalid_request_error', code: 'invalid_api_key' };
    case 403:
      return { message: 'Country, region, or territory not supported', type: 'request_forbidden', code: 'unsupported_country_region_territory' };
    case 404:
      return { message: `The model \`${model}\` does not exist or you do not have access to it.`, type: 'invalid_request_error', code: 'model_not_found' };
    case 429:
      return {
        message: `Rate limit reached for ${model} in organization org-simulated on requests per min (RPM): Limit 5000, Used 5000, Requested 1. Please try again in 12ms. Visit https://platform.openai.com/account/rate-limits to learn more.`,
        type: 'requests',
        code: 'rate_limit_exceeded',
      };
    case 500:
      return { message: 'The server had an error processing your request. Sorry about that! You can retry your request, or contact us through our help center at help.openai.com if the error persists.', type: 'server_error', code: null };
    case 503:
      return { message: 'Our servers are currently overloaded. Please try again later.', type: 'service_unavailable_error', code: 'server_is_overloaded' };
    default:
      return status >= 500
        ? { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', code: null }
        : { message: 'Invalid request.', type: 'invalid_request_error', code: null };
  }
}

/** `{"error":{message,type,param,code}}`, pretty-printed like the real API, with `x-request-id`. */
export function openaiError(status: number, info: OpenAIErrorInfo, retryAfter?: number): BodyReply {
  const body = { error: { message: info.message, type: info.type, param: info.param ?? null, code: info.code } };
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    'x-request-id': `req_${alnum(32)}`,
  };
  if (status === 429) {
    headers['x-ratelimit-limit-requests'] = '5000';
    headers['x-ratelimit-remaining-requests'] = '0';
    headers['x-ratelimit-reset-requests'] = '12ms';
  }
  if (retryAfter !== undefined) headers['retry-after'] = String(retryAfter);
  return { kind: 'body', status, headers, body: `${JSON.stringify(body, null, 2)}\n` };
}

/** 400 invalid_request_error with an explicit message, param and code. */
export function openaiBadRequest(message: string, param: string | null = null, code: string | null = null): BodyReply {
  return openaiError(400, { message, type: 'invalid_request_error', param, code });
}

/** The error an injected fault status produces. */
export function openaiFaultError(status: number, ctx: ErrorContext): BodyReply {
  const info = defaults(status, ctx.model ?? 'gpt-4o');
  return openaiError(status, ctx.message === undefined ? info : { ...info, message: ctx.message }, ctx.retryAfter);
}

/** Payload of the in-stream error event (`data: {"error":…}`, no `[DONE]` after it). */
export const OPENAI_STREAM_ERROR = `data: ${JSON.stringify({
  error: { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', param: null, code: null },
})}\n\n`;
