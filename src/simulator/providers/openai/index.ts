import type { Reply } from '../../reply.ts';
import type { Provider, Route } from '../provider.ts';
import { openaiError, openaiFaultError } from './errors.ts';
import { renderOpenAI } from './encode.ts';
import { parseOpenAIRequest } from './parse-request.ts';

const ROUTE: Route = { stream: false, model: undefined, sse: false };

function mask(key: string): string {
  return key.length <= 8 ? '***' : `${key.slice(0, 3)}***${key.slice(-4)}`;
}

/** OpenAI chat completions at `POST {basePath}/chat/completions`, `Authorization: Bearer`. */
export function openaiProvider(basePath: string): Provider {
  const endpoint = `${basePath}/chat/completions`;
  return {
    format: 'openai',
    route: (method, path) => (method === 'POST' && path === endpoint ? ROUTE : undefined),
    notFound: (method, url): Reply =>
      openaiError(404, { message: `Invalid URL (${method} ${url})`, type: 'invalid_request_error', code: null }),
    checkAuth(headers, apiKey) {
      const auth = headers['authorization'];
      if (auth === undefined || !auth.startsWith('Bearer ') || auth.length === 7) {
        return openaiError(401, {
          message:
            "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.",
          type: 'invalid_request_error',
          code: null,
        });
      }
      const given = auth.slice(7);
      if (given === apiKey) return undefined;
      return openaiError(401, {
        message: `Incorrect API key provided: ${mask(given)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
        type: 'invalid_request_error',
        code: 'invalid_api_key',
      });
    },
    parse: (body) => parseOpenAIRequest(body),
    render: renderOpenAI,
    error: openaiFaultError,
    tooLarge: () => openaiError(413, { message: 'Request too large.', type: 'invalid_request_error', code: 'request_too_large' }),
  };
}
