import { formatJson, GEMINI_SSE } from '../../json-format.ts';
import type { BodyReply } from '../../reply.ts';
import type { ErrorContext } from '../provider.ts';

const QUOTA_METRIC = 'generativelanguage.googleapis.com/generate_content_free_tier_requests';

/** google.rpc status name and default message for an HTTP status (wire README 4.5). */
function defaults(status: number, model: string): [rpc: string, message: string] {
  switch (status) {
    case 400:
      return ['INVALID_ARGUMENT', 'Request contains an invalid argument.'];
    case 401:
      return ['UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.'];
    case 403:
      return ['PERMISSION_DENIED', 'The caller does not have permission'];
    case 404:
      return ['NOT_FOUND', `models/${model} is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.`];
    case 409:
      return ['ABORTED', 'The operation was aborted.'];
    case 429:
      return ['RESOURCE_EXHAUSTED', 'You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.'];
    case 499:
      return ['CANCELLED', 'The operation was cancelled.'];
    case 500:
      return ['INTERNAL', 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting'];
    case 503:
      return ['UNAVAILABLE', 'The model is overloaded. Please try again later.'];
    case 504:
      return ['DEADLINE_EXCEEDED', 'Deadline expired before operation could complete.'];
    default:
      return status >= 500 ? ['INTERNAL', 'An internal error has occurred.'] : ['FAILED_PRECONDITION', 'Precondition check failed.'];
  }
}

/** QuotaFailure, Help and RetryInfo details, as in `gemini/error_resource_exhausted.json`. */
function quotaDetails(model: string, retrySeconds: number): unknown[] {
  return [
    {
      '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
      violations: [
        {
          quotaMetric: QUOTA_METRIC,
          quotaId: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier',
          quotaDimensions: { location: 'global', model },
          quotaValue: '10',
        },
      ],
    },
    {
      '@type': 'type.googleapis.com/google.rpc.Help',
      links: [{ description: 'Learn more about Gemini API quotas', url: 'https://ai.google.dev/gemini-api/docs/rate-limits' }],
    },
    { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${retrySeconds}s` },
  ];
}

/** Options for {@link geminiError}. */
export interface GeminiErrorOptions {
  readonly details?: unknown[];
  readonly retryAfter?: number;
  /** Errors on `:streamGenerateContent` are plain JSON served as `text/event-stream` (recorded behaviour). */
  readonly streamRoute?: boolean;
}

/** Pretty-printed `{"error":{code,message,status,details?}}`; Google sends no `retry-after` unless asked. */
export function geminiError(status: number, rpc: string, message: string, opts: GeminiErrorOptions = {}): BodyReply {
  const error: Record<string, unknown> = { code: status, message, status: rpc };
  if (opts.details !== undefined) error['details'] = opts.details;
  const headers: Record<string, string> = {
    'content-type': opts.streamRoute === true ? 'text/event-stream' : 'application/json; charset=UTF-8',
    vary: 'Origin, X-Origin, Referer',
    server: 'scaffolding on HTTPServer2',
  };
  if (opts.retryAfter !== undefined) headers['retry-after'] = String(opts.retryAfter);
  return { kind: 'body', status, headers, body: `${JSON.stringify({ error }, null, 2)}\n` };
}

/** 400 INVALID_ARGUMENT with the API's message. */
export function geminiBadRequest(message: string, opts: { readonly streamRoute: boolean }): BodyReply {
  return geminiError(400, 'INVALID_ARGUMENT', message, opts);
}

/** The error an injected fault status produces; 429 carries RetryInfo (`retryAfter` seconds, default 1). */
export function geminiFaultError(status: number, ctx: ErrorContext): BodyReply {
  const model = ctx.model ?? 'gemini-2.5-flash';
  const [rpc, message] = defaults(status, model);
  const retry = ctx.retryAfter ?? 1;
  const text = ctx.message ?? (status === 429 ? `${message}\nPlease retry in ${retry}s.` : message);
  return geminiError(status, rpc, text, {
    details: status === 429 ? quotaDetails(model, retry) : undefined,
    retryAfter: ctx.retryAfter,
    streamRoute: ctx.stream,
  });
}

/** In-stream error chunk; the stream ends after it. */
export const GEMINI_STREAM_ERROR = `data: ${formatJson(
  { error: { code: 503, message: 'The model is overloaded. Please try again later.', status: 'UNAVAILABLE' } },
  GEMINI_SSE,
)}\r\n\r\n`;
