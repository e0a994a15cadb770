import type { RuntimeProvider } from '../config/runtime.ts';
import { InternalError, asGatewayError, type GatewayError } from '../errors/gateway-error.ts';
import { phaseResponse } from '../extproc/messages.ts';
import type { StreamProcessor } from '../extproc/server.ts';
import { BodySendMode, readHeaders, type ExtProcRequest, type ExtProcResponse } from '../extproc/types.ts';
import type { Exchange } from './exchange.ts';
import type { ExchangeSinks } from './finish.ts';
import { usedSlotHeaders } from '../routing/plan.ts';
import { prepareAttempt } from './attempt.ts';
import { errorImmediateResponse } from './error-response.ts';
import type { ExchangeRegistry } from './registry.ts';
import { HEAVY_BODY_BYTES, heavyWork } from './heavy-work/turn-queue.ts';

/**
 * The upstream ext_proc stream, once per retry (envoy.yaml runs it for attempts after the
 * first; the router-level filter prepares the first), in the cluster Envoy picked for it:
 * rewrites path, body, content-length and auth for that provider. Everything a previous
 * attempt added is removed first, since Envoy replays the same header map on a retry.
 */
export class UpstreamProcessor implements StreamProcessor {
  private exchange: Exchange | undefined;
  private targetIndex = -1;
  private body: Uint8Array | undefined;

  constructor(
    private readonly cluster: string,
    private readonly registry: ExchangeRegistry,
    private readonly sinks: ExchangeSinks,
  ) {}

  handle(msg: ExtProcRequest): ExtProcResponse | Promise<ExtProcResponse> {
    const t0 = process.hrtime.bigint();
    let out: ExtProcResponse | Promise<ExtProcResponse>;
    try {
      if (msg.request_headers) out = this.onRequestHeaders(readHeaders(msg.request_headers));
      else if (msg.request_body) out = this.onRequestBody();
      else if (msg.response_headers) out = phaseResponse('response_headers');
      else if (msg.response_body) out = phaseResponse('response_body');
      else out = msg.request_trailers ? { request_trailers: {} } : { response_trailers: {} };
    } catch (err) {
      out = this.fail(asGatewayError(err));
    }
    if (this.exchange) this.exchange.overheadNs += process.hrtime.bigint() - t0;
    return out;
  }

  close(): void {
    this.exchange = undefined;
  }

  private fail(err: GatewayError): ExtProcResponse {
    if (err instanceof InternalError) this.sinks.logger.error({ err: err.cause ?? err, request_id: this.exchange?.id, cluster: this.cluster }, 'upstream attempt processing failed');
    return errorImmediateResponse(err);
  }

  private onRequestHeaders(h: Map<string, string>): ExtProcResponse | Promise<ExtProcResponse> {
    // x-request-id correlates the attempt with its request: the router-level filter wrote it
    // over whatever the caller sent. (Envoy shares the header map between attempts, so any
    // correlation header reaches the provider; x-request-id is the standard one to send.)
    const id = h.get('x-request-id');
    const ex = id === undefined ? undefined : this.registry.get(id);
    // Never guess: without the state the router-level filter wrote, the attempt cannot be translated.
    if (!ex || !ex.model) throw new InternalError('The request state for this attempt was not found.', { code: 'exchange_state_missing' });
    this.exchange = ex;
    const provider = ex.config.providersByCluster.get(this.cluster);
    if (!provider) throw new InternalError(`Envoy cluster "${this.cluster}" is not a provider in the config.`, { code: 'unknown_cluster' });
    const attemptNumber = Number(h.get('x-envoy-attempt-count') ?? String(ex.attempts.length + 1));
    this.targetIndex = this.pickTarget(ex, provider, attemptNumber);
    // A large request's retry is translated in its own turn of the heavy-work queue (turn-queue.ts).
    if (ex.requestBodyLength >= HEAVY_BODY_BYTES) {
      const targetIndex = this.targetIndex;
      return heavyWork
        .job()
        .step(() => {
          const t0 = process.hrtime.bigint();
          try {
            return this.attemptHeaders(ex, provider, targetIndex, attemptNumber);
          } finally {
            ex.overheadNs += process.hrtime.bigint() - t0;
          }
        })
        .catch((err: unknown) => this.fail(asGatewayError(err)));
    }
    return this.attemptHeaders(ex, provider, this.targetIndex, attemptNumber);
  }

  /** The request_headers answer that sends attempt `attemptNumber` to target `targetIndex` (prepareAttempt). */
  private attemptHeaders(ex: Exchange, provider: RuntimeProvider, targetIndex: number, attemptNumber: number): ExtProcResponse {
    const attempt = prepareAttempt(ex, provider, targetIndex, attemptNumber);
    this.body = attempt.body;
    this.sinks.metrics.attempts.inc({ provider: provider.name });
    // Slots already used can go; later ones must stay for the retries that read them.
    const remove = [...(attempt.headers.remove ?? []), ...usedSlotHeaders(attemptNumber)];
    const res = phaseResponse('request_headers', { headers: { set: attempt.headers.set ?? {}, remove } });
    // The caller's body is already right for this provider: let it through without a body phase.
    if (!attempt.body) res.mode_override = { request_body_mode: BodySendMode.NONE };
    return res;
  }

  /**
   * The model target this attempt serves: the request's own plan (only the targets that can
   * serve it) maps attempt N to its slot N, checked against the cluster Envoy chose.
   */
  private pickTarget(ex: Exchange, provider: RuntimeProvider, attemptNumber: number): number {
    const targets = ex.model!.targets;
    const order = ex.plan?.targets ?? ex.model!.plan.targets;
    const planned = order[(Math.max(1, attemptNumber) - 1) % order.length]!;
    if (targets[planned]!.provider === provider) return planned;
    // Never a target outside the plan: that one cannot serve this request.
    const found = order.find((i) => targets[i]!.provider === provider);
    if (found === undefined) throw new InternalError(`Cluster "${this.cluster}" is not in the plan of this "${ex.model!.name}" request.`, { code: 'unplanned_cluster' });
    return found;
  }

  private onRequestBody(): ExtProcResponse {
    const ex = this.exchange;
    if (!ex || this.targetIndex < 0) throw new InternalError('Request body arrived before its headers.', { code: 'extproc_protocol' });
    // Without a body to send, only reached when Envoy ignored the mode override: keep the body.
    return this.body ? phaseResponse('request_body', { body: this.body }) : phaseResponse('request_body');
  }
}
