import type { Provider, Route } from '../provider.ts';
import { anthropicBadRequest, anthropicError, anthropicFaultError } from './errors.ts';
import { renderAnthropic } from './encode.ts';
import { parseAnthropicRequest } from './parse-request.ts';

const ROUTE: Route = { stream: false, model: undefined, sse: false };

/** Anthropic Messages at `POST {basePath}/messages`, `x-api-key` + `anthropic-version`. */
export function anthropicProvider(basePath: string): Provider {
  const endpoint = `${basePath}/messages`;
  return {
    format: 'anthropic',
    route: (method, path) => (method === 'POST' && path === endpoint ? ROUTE : undefined),
    notFound: () => anthropicError(404, 'not_found_error', 'Not Found'),
    checkAuth(headers, apiKey) {
      const key = headers['x-api-key'];
      if (key === undefined || key.length === 0) return anthropicError(401, 'authentication_error', 'x-api-key header is required');
      if (key !== apiKey) return anthropicError(401, 'authentication_error', 'invalid x-api-key');
      if (headers['anthropic-version'] === undefined) return anthropicBadRequest('anthropic-version: header is required');
      return undefined;
    },
    parse: (body) => parseAnthropicRequest(body),
    render: renderAnthropic,
    error: anthropicFaultError,
    tooLarge: () => anthropicError(413, 'request_too_large', 'Request exceeds the maximum allowed number of bytes.'),
  };
}
