import { randomUUID } from 'node:crypto';
import type { Caller } from '../config/runtime.ts';
import type { GatewayError } from '../errors/gateway-error.ts';
import type { GatewayMetrics } from '../metrics/metrics.ts';
import type { Logger } from '../observability/logger.ts';
import type { EnvoyOutcomes } from './envoy-outcomes.ts';
import type { PolicyPipeline } from '../policy/pipeline.ts';
import type { Settlement } from '../policy/settlement.ts';
import { DEGRADED_FROM_HEADER } from '../policy/budget.ts';
import { costOfExchange } from '../pricing/exchange-cost.ts';
import type { Exchange } from './exchange.ts';
import type { TargetHealth } from '../routing/health/target-health.ts';
import type { UpstreamAttempts } from '../routing/health/upstream-attempts.ts';
import type { ProbeGate } from '../routing/health/probes/probe-gate.ts';
import { answerOutcome } from '../routing/health/answer.ts';
import { recordOutcome } from '../routing/health/report.ts';
import { recordExchangeMetrics } from '../metrics/exchange-metrics.ts';
import { tracing } from '../tracing/hooks.ts';
import type { SpendRecorder } from '../observability/spend-recorder.ts';
import { timeToFirstTokenMs } from '../observability/request-log-fields.ts';

export interface ExchangeSinks {
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  /** Envoy's own account of how requests ended (its access log, envoy-outcomes.ts); absent where Envoy sends none. */
  readonly outcomes?: EnvoyOutcomes;
  /** The policy steps (src/policy/): admitted at the request body, settled here, once per request. */
  readonly policies?: PolicyPipeline<Exchange, Settlement>;
  /** Targets' health (src/routing/health/): routing reads it, every attempt's outcome feeds it. */
  readonly health?: TargetHealth;
  /** Failed attempts from Envoy's upstream log (src/routing/health/upstream-attempts.ts): remembers finished requests whose entries may still come. */
  readonly upstreamAttempts?: UpstreamAttempts;
  /** Recognises the gateway's own active probes (src/routing/health/probes/); absent: none are. */
  readonly probeGate?: ProbeGate;
  /** Hourly spend buckets for the state backend (src/observability/spend-recorder.ts); absent: not kept. */
  readonly spendHistory?: SpendRecorder;
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
export function finishExchange(ex: Exchange, outcome: Outcome, sinks: ExchangeSinks, estimated: TokenEstimates = COUNTED, endedAt: bigint = process.hrtime.bigint()): void {
  // endedAt: when the ext_proc stream closed (a line held for Envoy's account is written later).
  const latencyMs = Number(endedAt - ex.startedAt) / 1e6;
  const attempt = ex.lastAttempt;
  // Metric labels only take configured names (a caller's made-up model must not mint series); the
  // log line also names a model the request was refused for (out of scope, unknown), capped.
  const model = ex.model?.name ?? '';
  const loggedModel = ex.model?.name ?? ex.request?.model.slice(0, 256) ?? '';
  // A response cache hit: no provider answered; the line shows the stored answer's usage at cost 0.
  const cacheHit = ex.cache?.status === 'hit';
  if (cacheHit) ex.usage ??= ex.cache!.hitUsage;
  const provider = ex.envoyLocalReply ? 'envoy' : cacheHit ? 'cache' : (attempt?.provider.name ?? '');
  const status = ex.status ?? 0;
  const stream = ex.stream ? 'true' : 'false';
  // Priced at the target that served (the last attempt), from the usage logged beside it.
  const cost = costOfExchange(ex);
  // The gateway's own active probe: no caller, so no key on its line and none of the callers' request metrics (gateway_health_probes_total counts it).
  const probe = ex.probeTarget !== undefined;
  const caller = probe ? undefined : ex.caller;
  sinks.logger.info(
    {
      request_id: ex.id,
      client_request_id: ex.clientRequestId,
      key_name: caller?.name,
      team: caller?.team,
      feature: caller?.feature,
      client_address: ex.clientAddress,
      probe: probe || undefined,
      model: loggedModel,
      // A budget degrade: the model asked for (`model` is the one that served).
      degraded_from: ex.admission?.headers?.[DEGRADED_FROM_HEADER],
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
      cost_usd: cacheHit ? 0 : cost?.usd,
      cache: ex.cache?.status,
      latency_ms: Math.round(latencyMs * 1000) / 1000,
      time_to_first_token_ms: timeToFirstTokenMs(ex, latencyMs, endedAt),
      overhead_ms: Math.round(Number(ex.overheadNs) / 1000) / 1000,
      attempts: ex.attempts.length,
      // Only for teams with observability.requestLog.content on: bounded, scrubbed message text.
      prompt: ex.content?.prompt(ex.request),
      completion: ex.content?.completionText(),
      // The W3C trace id of the request's spans (src/tracing/), when tracing is on and sampled it.
      trace_id: tracing().traceId(ex),
    },
    'request',
  );
  // The answering attempt's span gets the usage and ends (src/tracing/; nothing when off).
  tracing().finished(ex, outcome);
  const m = sinks.metrics;
  if (!probe) {
    m.requests.inc({ model, provider, status: String(status), stream, outcome });
    m.duration.observe({ model, stream }, latencyMs / 1000);
    m.overhead.observe(Number(ex.overheadNs) / 1e9);
  }
  // A hit's tokens were not used again: they count in gateway_cache_saved_tokens_total instead.
  if (ex.usage && !cacheHit && !probe) {
    m.tokens.inc({ model, direction: 'input' }, ex.usage.promptTokens);
    m.tokens.inc({ model, direction: 'output' }, ex.usage.completionTokens);
    if (estimated.input) m.tokensEstimated.inc({ model, direction: 'input' }, ex.usage.promptTokens);
    if (estimated.output) m.tokensEstimated.inc({ model, direction: 'output' }, ex.usage.completionTokens);
  }
  // The fleet's spend history (GET /admin/spend): the line's numbers, batched off the request path.
  // A cache hit counts as a request; its tokens were not used again and cost nothing.
  if (caller && sinks.spendHistory) {
    const used = cacheHit ? undefined : ex.usage;
    sinks.spendHistory.record({
      team: caller.team,
      provider,
      model,
      tokensIn: used?.promptTokens ?? 0,
      tokensOut: used?.completionTokens ?? 0,
      tokensCached: used?.cachedTokens ?? 0,
      nanoUsd: cacheHit ? 0 : (cost?.nanoUsd ?? 0),
      at: Date.now(),
    });
  }
  if (cost && !probe) m.cost.inc({ model, provider, team: caller ? m.teamLabel.of(caller.team) : '' }, cost.usd);
  // The GenAI histograms, failovers and refusals (src/metrics/exchange-metrics.ts).
  if (!probe) recordExchangeMetrics(m, { ex, outcome, latencyMs, cacheHit, endedAtMonoMs: performance.now() - Number(process.hrtime.bigint() - endedAt) / 1e6 });
  // Target health: the answering attempt's outcome (answer.ts); failed attempts come from Envoy's upstream log.
  if (sinks.health && !cacheHit) {
    const answered = answerOutcome({ ex, outcome, inputEstimated: estimated.input });
    if (answered) recordOutcome(sinks.health, m, answered);
  }
  // A probe no attempt used (refused by a policy, a cache hit, an earlier target answered) is
  // given back, or the half-open breaker would wait probeTimeoutMs for an outcome that never comes.
  if (sinks.health) for (const key of ex.probes) if (!ex.attempts.some((a) => a.key === key)) sinks.health.releaseProbe(key);
  sinks.upstreamAttempts?.remember(ex, outcome);
  if (sinks.policies && ex.admission) {
    void sinks.policies.settle(ex, ex.admission, {
      outcome,
      usage: ex.usage,
      estimated: estimated.input || estimated.output,
      costNanoUsd: cacheHit ? 0 : cost?.nanoUsd,
      cacheHit,
    });
  }
}

/** A request answered at its headers, before the gateway kept any state for it. */
export interface StatelessRequest {
  method: string;
  path: string;
  clientRequestId?: string | undefined;
  /** The caller's IP as Envoy saw it (src/observability/client-address.ts). */
  clientAddress?: string | undefined;
  caller?: Caller;
  /** The id the caller got, when someone else chose it (Envoy's local reply); else one is generated. */
  requestId?: string;
  /** Who answered, when not the gateway: `envoy` for a request Envoy refused before the ext_proc saw it. */
  provider?: string;
}

/**
 * Logs and counts a request answered before it had an Exchange: refused (bad key, unknown path,
 * …: failed logins and probes are visible too) or served by the gateway itself (/v1/models).
 * Returns the request id it was given.
 */
export function recordStatelessRequest(req: StatelessRequest, err: GatewayError | { status: number; code: string | null }, sinks: ExchangeSinks): string {
  const requestId = req.requestId ?? randomUUID();
  const outcome = err.status < 400 ? 'completed' : 'rejected';
  sinks.logger.info(
    {
      request_id: requestId,
      client_request_id: req.clientRequestId,
      key_name: req.caller?.name,
      team: req.caller?.team,
      feature: req.caller?.feature,
      client_address: req.clientAddress,
      method: req.method,
      path: req.path,
      provider: req.provider,
      status: err.status,
      outcome,
      error_code: err.code ?? undefined,
    },
    'request',
  );
  sinks.metrics.requests.inc({ model: '', provider: req.provider ?? '', status: String(err.status), stream: 'false', outcome });
  // Envoy's access log entry for this reply, if one comes, changes nothing.
  sinks.outcomes?.noteFinished(requestId);
  return requestId;
}
