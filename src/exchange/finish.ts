import { randomUUID } from 'node:crypto';
import type { Caller } from '../config/runtime.ts';
import type { GatewayError } from '../errors/gateway-error.ts';
import type { GatewayMetrics } from '../metrics/metrics.ts';
import type { Logger } from '../observability/logger.ts';
import type { Exchange } from './exchange.ts';

export interface ExchangeSinks {
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
}

/**
 * How a request ended. `completed`: the whole answer went to the caller (for a stream: its
 * `[DONE]`); `failed`: the caller got an error, as an error status (from a provider, Envoy or
 * the gateway) or as an OpenAI error event ending a stream; `aborted`: the response stopped
 * before its end (client gone, upstream reset, Envoy timeout). Requests refused at their
 * headers are logged `rejected` (recordStatelessRequest).
 */
export type Outcome = 'completed' | 'failed' | 'aborted';

/** Which of the exchange's token counts are the gateway's estimates rather than the provider's. */
export interface TokenEstimates {
  input: boolean;
  output: boolean;
}

const COUNTED: TokenEstimates = { input: false, output: false };

/**
 * Settles one request exactly once: the request log line (no prompt text, no secrets) and
 * the metrics. `tokens_estimated` is logged with the counts, true when any is an estimate;
 * estimated tokens count in `gateway_tokens_total` and also in `gateway_tokens_estimated_total`.
 */
export function finishExchange(ex: Exchange, outcome: Outcome, sinks: ExchangeSinks, estimated: TokenEstimates = COUNTED): void {
  const latencyMs = Number(process.hrtime.bigint() - ex.startedAt) / 1e6;
  const attempt = ex.lastAttempt;
  const model = ex.model?.name ?? ex.request?.model ?? '';
  const provider = ex.envoyLocalReply ? 'envoy' : (attempt?.provider.name ?? '');
  const status = ex.status ?? 0;
  const stream = ex.stream ? 'true' : 'false';
  sinks.logger.info(
    {
      request_id: ex.id,
      client_request_id: ex.clientRequestId,
      key_name: ex.caller?.name,
      team: ex.caller?.team,
      model,
      provider,
      provider_model: attempt?.providerModel,
      status,
      stream: ex.stream,
      outcome,
      error_code: ex.errorCode,
      tokens_in: ex.usage?.promptTokens,
      tokens_out: ex.usage?.completionTokens,
      tokens_cached: ex.usage?.cachedTokens,
      tokens_estimated: ex.usage === undefined ? undefined : estimated.input || estimated.output,
      latency_ms: Math.round(latencyMs * 1000) / 1000,
      overhead_ms: Math.round(Number(ex.overheadNs) / 1000) / 1000,
      attempts: ex.attempts.length,
    },
    'request',
  );
  const m = sinks.metrics;
  m.requests.inc({ model, provider, status: String(status), stream, outcome });
  m.duration.observe({ model, stream }, latencyMs / 1000);
  m.overhead.observe(Number(ex.overheadNs) / 1e9);
  if (ex.usage) {
    m.tokens.inc({ model, direction: 'input' }, ex.usage.promptTokens);
    m.tokens.inc({ model, direction: 'output' }, ex.usage.completionTokens);
    if (estimated.input) m.tokensEstimated.inc({ model, direction: 'input' }, ex.usage.promptTokens);
    if (estimated.output) m.tokensEstimated.inc({ model, direction: 'output' }, ex.usage.completionTokens);
  }
}

/** A request answered at its headers, before the gateway kept any state for it. */
export interface StatelessRequest {
  method: string;
  path: string;
  clientRequestId?: string | undefined;
  caller?: Caller;
}

/**
 * Logs and counts a request answered before it had an Exchange: refused (bad key, unknown path,
 * …: failed logins and probes are visible too) or served by the gateway itself (/v1/models).
 * Returns the request id it was given.
 */
export function recordStatelessRequest(req: StatelessRequest, err: GatewayError | { status: number; code: string | null }, sinks: ExchangeSinks): string {
  const requestId = randomUUID();
  const outcome = err.status < 400 ? 'completed' : 'rejected';
  sinks.logger.info(
    {
      request_id: requestId,
      client_request_id: req.clientRequestId,
      key_name: req.caller?.name,
      team: req.caller?.team,
      method: req.method,
      path: req.path,
      status: err.status,
      outcome,
      error_code: err.code ?? undefined,
    },
    'request',
  );
  sinks.metrics.requests.inc({ model: '', provider: '', status: String(err.status), stream: 'false', outcome });
  return requestId;
}
