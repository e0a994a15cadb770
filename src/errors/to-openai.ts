import type { GatewayError, OpenAIErrorType } from './gateway-error.ts';

/** The OpenAI error body: all four keys are required by the OpenAI schema. */
export interface OpenAIErrorBody {
  error: { message: string; type: OpenAIErrorType | string; param: string | null; code: string | null };
}

/** The only place a GatewayError becomes what a caller sees. */
export function toOpenAIError(err: GatewayError): { status: number; body: OpenAIErrorBody; headers: Record<string, string> } {
  const headers: Record<string, string> = { ...err.headers, 'content-type': 'application/json' };
  if (err.retryAfterSeconds !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(err.retryAfterSeconds)));
  return {
    status: err.status,
    headers,
    body: { error: { message: err.message, type: err.openaiType, param: err.param, code: err.code } },
  };
}

/** An SSE event carrying the error, for failures after a stream has started (the SDK throws on it). */
export function toOpenAIErrorEvent(err: GatewayError): string {
  return `data: ${JSON.stringify(toOpenAIError(err).body)}\n\n`;
}
