import type { Provider, Route } from '../provider.ts';
import { geminiError, geminiFaultError } from './errors.ts';
import { renderGemini } from './encode.ts';
import { parseGeminiRequest } from './parse-request.ts';

const API_KEY_INVALID = [
  {
    '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
    reason: 'API_KEY_INVALID',
    domain: 'googleapis.com',
    metadata: { service: 'generativelanguage.googleapis.com' },
  },
  { '@type': 'type.googleapis.com/google.rpc.LocalizedMessage', locale: 'en-US', message: 'API key not valid. Please pass a valid API key.' },
];

function decodeModel(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Gemini v1beta `models/{model}:generateContent` and `:streamGenerateContent[?alt=sse]`, `x-goog-api-key`. */
export function geminiProvider(basePath: string): Provider {
  const prefix = `${basePath}/models/`;
  return {
    format: 'gemini',
    route(method, path, query): Route | undefined {
      if (method !== 'POST' || !path.startsWith(prefix)) return undefined;
      const rest = path.slice(prefix.length);
      const colon = rest.lastIndexOf(':');
      if (colon <= 0) return undefined;
      const model = decodeModel(rest.slice(0, colon));
      const verb = rest.slice(colon + 1);
      if (verb === 'generateContent') return { stream: false, model, sse: false };
      if (verb === 'streamGenerateContent') return { stream: true, model, sse: new URLSearchParams(query).get('alt') === 'sse' };
      return undefined;
    },
    notFound: () => geminiError(404, 'NOT_FOUND', 'Requested entity was not found.'),
    checkAuth(headers, apiKey) {
      const key = headers['x-goog-api-key'];
      if (key === undefined || key.length === 0) {
        return geminiError(
          403,
          'PERMISSION_DENIED',
          "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
        );
      }
      if (key !== apiKey) return geminiError(400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', { details: API_KEY_INVALID });
      return undefined;
    },
    parse: parseGeminiRequest,
    render: renderGemini,
    error: geminiFaultError,
    tooLarge: () => geminiError(400, 'INVALID_ARGUMENT', 'Request payload size exceeds the limit: 20971520 bytes.'),
  };
}
