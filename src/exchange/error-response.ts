import type { GatewayError } from '../errors/gateway-error.ts';
import { toOpenAIError } from '../errors/to-openai.ts';
import { immediateResponse } from '../extproc/messages.ts';
import type { ExtProcResponse } from '../extproc/types.ts';

/** A GatewayError as an ext_proc ImmediateResponse: OpenAI error body, status, retry-after. */
export function errorImmediateResponse(err: GatewayError, extraHeaders: Record<string, string> = {}): ExtProcResponse {
  const { status, body, headers } = toOpenAIError(err);
  return immediateResponse(status, { ...headers, ...extraHeaders }, JSON.stringify(body), `llm_extproc_${err.code ?? 'error'}`);
}
