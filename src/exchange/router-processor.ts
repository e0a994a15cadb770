import { KeyRefusedError } from '../policy/authenticate.ts';
import { authenticateCaller, type StateKeyDirectory } from '../policy/state-keys.ts';
import type { RuntimeConfig } from '../config/runtime.ts';
import { authorizeModel } from '../policy/authorize-model.ts';
import type { ConfigStore } from '../config/store.ts';
import {
  GatewayError,
  InternalError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  InvalidRequestError,
  UnsupportedMediaTypeError,
  UpstreamError,
  asGatewayError,
} from '../errors/gateway-error.ts';
import { toOpenAIError, toOpenAIErrorEvent } from '../errors/to-openai.ts';
import { NO_RESPONSE, immediateResponse, phaseResponse, streamedBodyResponse } from '../extproc/messages.ts';
import type { StreamProcessor } from '../extproc/server.ts';
import { BodySendMode, bodyBytes, readHeaders, type ExtProcRequest, type ExtProcResponse, type HeaderMap } from '../extproc/types.ts';
import { prepareAttempt } from './attempt.ts';
import { errorImmediateResponse } from './error-response.ts';
import { Exchange } from './exchange.ts';
import { finishExchange, recordStatelessRequest, type ExchangeSinks, type StatelessRequest } from './finish.ts';
import {
  ENVOY_LOCAL_REPLY_HEADER,
  OVERHEAD_HEADER,
  RESPONSE_HEADER_ALLOWLIST,
  isEnvoyReply,
  isInternalHeader,
  responseCodeDetails,
  type ExtProcAttributes,
} from './internal-headers.ts';
import { parseChatRequest } from './parse-request.ts';
import { HEAVY_BODY_BYTES, heavyWork, type HeavyJob } from './heavy-work/turn-queue.ts';
import { parseChatRequestInTurns } from './heavy-work/parse-in-turns.ts';
import type { ChatRequest } from '../openai/chat-request.ts';
import type { Admission } from '../policy/pipeline.ts';
import { clientRequestId } from './client-request-id.ts';
import { callerHeaderPolicy, GATEWAY_USER_AGENT } from './forwarded-headers.ts';
import { modelListBody, modelRetrieveBody, retrievedModelName } from './models-endpoint.ts';
import { routeExchange } from '../routing/route-request.ts';
import { PROBE_HEADER, PROBE_TARGET_HEADER } from '../routing/health/probes/probe-gate.ts';
import { PROBE_CALLER, pinProbe, probeModel } from '../routing/health/probes/pin.ts';
import type { TargetKey } from '../routing/health/view.ts';
import { EXPLAIN_HEADER, explainHeaderValue, wantsExplanation } from '../routing/explain-header.ts';
import type { StreamTranslator } from '../dialects/dialect.ts';
import { settleStream } from './stream-settlement.ts';
import { clientAddressOf } from '../observability/client-address.ts';
import { ContentCapture } from '../observability/content-capture.ts';
import { formatUsd } from '../pricing/cost.ts';
import { COST_HEADER, costOfExchange } from '../pricing/exchange-cost.ts';
import { callerContentType, responseShape, translateBufferedAnswer, unreadableAnswer, type ResponseShape } from './response-shape.ts';
import type { ExchangeRegistry } from './registry.ts';
import { ACCEPT_ENCODING, contentCodings, type ContentCoding } from './content-decoding.ts';
import { ResponseDecoding, failedTranslator } from './response-decoding.ts';
import { withUsageCost } from '../pricing/usage-cost.ts';
import { StreamIdleTimer, stalledStreamError, stalledStreamEvent } from './stream-stall.ts';

const CHAT_PATH = '/v1/chat/completions';
const MODELS_PATH = '/v1/models';

type Phase = 'request_headers' | 'request_body' | 'response_headers' | 'response_body' | 'done';

function stripPath(path: string): string {
  const q = path.indexOf('?');
  return q === -1 ? path : path.slice(0, q);
}

/**
 * The router-level ext_proc stream, once per request: authenticates, validates, plans the
 * provider order for Envoy, and on the way back translates the final response to OpenAI format.
 */
export class RouterProcessor implements StreamProcessor {
  private exchange: Exchange | undefined;
  private phase: Phase = 'request_headers';
  private responseBodyMode: number = BodySendMode.NONE;
  private responseChunks: Uint8Array[] = [];
  private responseHeaders: HeaderMap | undefined;
  /** How a successful answer reaches the caller (set at response headers). */
  private shape: ResponseShape = 'json';
  /** Set when the provider compressed its answer (content-encoding); undefined in the normal case. */
  private decoding: ResponseDecoding | undefined;
  /** What is known of a request refused at its headers, for its log line. */
  private stateless: StatelessRequest = { method: '', path: '' };
  /** Set when Envoy closed the stream (an answer still being computed is then dropped). */
  private closed = false;
  /** Sends a message Envoy did not ask for (server.ts); used in the FULL_DUPLEX_STREAMED body mode only. */
  private push: ((res: ExtProcResponse) => void) | undefined;
  /** A stream of a model with `timeouts.streamIdleMs` (FULL_DUPLEX_STREAMED): its silence timer, armed from the first body chunk. */
  private idle: StreamIdleTimer | undefined;
  /** Set when the stream was ended for its provider's silence (stream-stall.ts): nothing more goes to the caller. */
  private stalled: GatewayError | undefined;

  constructor(
    private readonly configs: ConfigStore,
    private readonly registry: ExchangeRegistry,
    private readonly sinks: ExchangeSinks,
    /** Bodies of at least this many bytes take the heavy-work path (Infinity: never; for A/B measurement). */
    private readonly heavyBodyBytes: number = HEAVY_BODY_BYTES,
    /** Admin-created keys (src/policy/state-keys.ts), consulted after gateway.yaml's while `server.admin` is configured. */
    private readonly stateKeys?: StateKeyDirectory,
  ) {}

  attach(push: (res: ExtProcResponse) => void): void {
    this.push = push;
  }

  handle(msg: ExtProcRequest): ExtProcResponse | Promise<ExtProcResponse> {
    const t0 = process.hrtime.bigint();
    let out: ExtProcResponse | Promise<ExtProcResponse>;
    try {
      out = this.dispatch(msg);
    } catch (err) {
      out = this.fail(asGatewayError(err));
    }
    if (this.exchange) this.exchange.overheadNs += process.hrtime.bigint() - t0;
    return out;
  }

  close(_reason: 'done' | 'cancelled' | 'error'): void {
    this.closed = true;
    this.idle?.stop();
    this.decoding?.destroy();
    const ex = this.exchange;
    if (!ex) return;
    ex.markClosed();
    this.registry.delete(ex.id);
    this.sinks.metrics.inFlight.set(this.registry.size);
    if (this.stalled && ex.translator) {
      // Ended by the gateway for the provider's silence: certain, so logged at once (Envoy's
      // access log entry for it is ignored). `aborted` like a stream Envoy cuts: no [DONE], and
      // the provider never finished; the tokens so far are settled.
      const settled = settleStream(ex, ex.translator);
      ex.errorCode = this.stalled.code ?? undefined;
      // For target health (answer.ts): the attempt ended in the stall's 504, a timeout of the target.
      ex.translator = failedTranslator(ex.translator, this.stalled);
      finishExchange(ex, settled.outcome, this.sinks, settled.estimated);
      this.sinks.outcomes?.noteFinished(ex.id);
      return;
    }
    // Envoy may end the stream with a cancel even after the last phase: what counts is whether
    // the response was complete when the stream closed. A stream is complete once its terminal
    // event went out, whatever happened to the connection after.
    // `aborted` is the uncertain case: Envoy may have answered the caller itself (its 503/504
    // after a provider's 200 head) or cut the stream; with its access log (sinks.outcomes) the
    // line waits, bounded, for Envoy's account. Every other outcome is logged at once.
    const outcomes = this.sinks.outcomes;
    if (ex.translator) {
      const settled = settleStream(ex, ex.translator);
      if (outcomes) outcomes.settle(ex, settled.outcome, settled.estimated);
      else finishExchange(ex, settled.outcome, this.sinks, settled.estimated);
    } else {
      // One rule for every reply: an error the caller received (from a provider, Envoy or the
      // gateway) is `failed`, whatever its transport; `completed` is a delivered answer.
      const outcome = this.phase !== 'done' ? 'aborted' : (ex.status ?? 0) >= 400 ? 'failed' : 'completed';
      if (outcomes) outcomes.settle(ex, outcome);
      else finishExchange(ex, outcome, this.sinks);
    }
  }

  private dispatch(msg: ExtProcRequest): ExtProcResponse | Promise<ExtProcResponse> {
    if (msg.request_headers) {
      // The caller's address for the request log (envoy.yaml: request_attributes [source.address]).
      this.stateless.clientAddress = clientAddressOf((msg as { attributes?: ExtProcAttributes }).attributes);
      return this.onRequestHeaders(readHeaders(msg.request_headers), msg.request_headers.end_of_stream === true);
    }
    if (msg.request_body) return this.onRequestBody(bodyBytes(msg.request_body.body));
    if (msg.response_headers) {
      // Envoy sends response.code_details with the response headers (envoy.yaml: response_attributes).
      const details = responseCodeDetails((msg as { attributes?: ExtProcAttributes }).attributes);
      return this.onResponseHeaders(readHeaders(msg.response_headers), msg.response_headers.end_of_stream === true, details);
    }
    if (msg.response_body) {
      const chunk = bodyBytes(msg.response_body.body);
      const end = msg.response_body.end_of_stream === true;
      return this.decoding?.streamed ? this.decodeThenTranslate(this.decoding, chunk, end) : this.onResponseBody(chunk, end);
    }
    if (msg.request_trailers) return { request_trailers: {} };
    if (msg.response_trailers) return { response_trailers: {} };
    throw new InternalError('Unexpected ext_proc message.', { code: 'extproc_protocol' });
  }

  private fail(err: GatewayError): ExtProcResponse {
    const ex = this.exchange;
    if (ex) {
      ex.errorCode = err.code ?? err.openaiType;
      ex.status = err.status;
    }
    if (err instanceof InternalError) this.sinks.logger.error({ err: err.cause ?? err, request_id: ex?.id }, 'router-level processing failed');
    this.phase = 'done';
    // Refused before any state was kept (401, 404, 405, 413, 415): logged and counted here.
    const requestId = ex?.id ?? recordStatelessRequest(this.stateless, err, this.sinks);
    // The policies' headers (x-ratelimit-*, x-gateway-cache) ride on errors too, as OpenAI's do.
    return errorImmediateResponse(err, { ...ex?.admission?.headers, ...explainHeaders(ex), 'x-request-id': requestId });
  }

  private onRequestHeaders(h: HeaderMap, endOfStream: boolean): ExtProcResponse | Promise<ExtProcResponse> {
    const config = this.configs.current;
    const method = h.get(':method') ?? '';
    const path = stripPath(h.get(':path') ?? '');
    const callerRequestId = clientRequestId(h.get('x-request-id'));
    this.stateless = { method, path, clientRequestId: callerRequestId, clientAddress: this.stateless.clientAddress };
    const retrieved = retrievedModelName(path);
    if (path !== CHAT_PATH && path !== MODELS_PATH && retrieved === undefined) {
      throw new NotFoundError(`Unknown request URL: ${method} ${path}. Please check the URL for typos.`, { code: 'unknown_url' });
    }
    // The gateway's own active probe (src/routing/health/probes/): no key, pinned to one target.
    const probeTarget = path === CHAT_PATH ? this.sinks.probeGate?.recognise(h.get(PROBE_HEADER), h.get(PROBE_TARGET_HEADER)) : undefined;
    if (probeTarget !== undefined) return this.onCaller(h, endOfStream, config, PROBE_CALLER, probeTarget);
    const caller = this.authenticate(h, config);
    // A key gateway.yaml does not hold is looked up in the state backend: asynchronous until cached.
    if (caller instanceof Promise) {
      return caller
        .then((c) => (this.closed ? phaseResponse('request_headers') : this.onCaller(h, endOfStream, config, c)))
        .catch((err: unknown) => this.fail(asGatewayError(err)));
    }
    return this.onCaller(h, endOfStream, config, caller);
  }

  /** The rest of the request headers phase, once the caller is known. */
  private onCaller(h: HeaderMap, endOfStream: boolean, config: RuntimeConfig, caller: NonNullable<Exchange['caller']>, probeTarget?: TargetKey): ExtProcResponse {
    const { method, path, clientRequestId: callerRequestId } = this.stateless;
    const retrieved = retrievedModelName(path);
    this.stateless.caller = caller;

    // GET /v1/models and GET /v1/models/{model}: answered here from the config.
    if (path === MODELS_PATH || retrieved !== undefined) {
      if (method !== 'GET') throw new MethodNotAllowedError(`Method ${method} is not allowed on ${path}.`, { code: 'method_not_allowed' });
      const body = retrieved === undefined ? modelListBody(config, caller) : modelRetrieveBody(config, caller, retrieved);
      this.phase = 'done';
      const requestId = recordStatelessRequest(this.stateless, { status: 200, code: null }, this.sinks);
      return immediateResponse(200, { 'content-type': 'application/json', 'x-request-id': requestId }, body, 'llm_extproc_models');
    }
    if (method !== 'POST') throw new MethodNotAllowedError(`Method ${method} is not allowed on ${CHAT_PATH}.`, { code: 'method_not_allowed' });
    const contentType = h.get('content-type');
    if (contentType !== undefined && !/^application\/(?:[\w.+-]*\+)?json\b/i.test(contentType)) {
      throw new UnsupportedMediaTypeError(`Unsupported content type '${contentType}'; send application/json.`, { code: 'unsupported_media_type' });
    }
    const declaredLength = Number(h.get('content-length') ?? '0');
    if (declaredLength > config.maxBodyBytes) throw this.tooLarge(config.maxBodyBytes);
    if (endOfStream) throw new InvalidRequestError('The request body is empty; expected a JSON object.', { code: 'invalid_json' });

    const ex = new Exchange(config, callerRequestId);
    ex.caller = caller;
    ex.clientAddress = this.stateless.clientAddress;
    // Prompts and completions on the request line only for teams that turned it on (observability.requestLog.content).
    ex.content = probeTarget === undefined ? ContentCapture.for(config.observability.requestLog.content, caller.team) : undefined;
    ex.probeTarget = probeTarget;
    ex.cacheControl = h.get('cache-control');
    // Only a key allowed to (gateway.yaml `explain: true`) gets the routing explanation; for any other the header is ignored.
    ex.explain = caller.explain === true && wantsExplanation(h.get(EXPLAIN_HEADER));
    if (!this.registry.add(ex)) {
      throw new UpstreamError(503, 'service_unavailable_error', 'The gateway is at capacity. Retry later.', { code: 'gateway_overloaded', retryAfterSeconds: 1 });
    }
    this.exchange = ex;
    this.sinks.metrics.inFlight.set(this.registry.size);
    this.phase = 'request_body';
    // Only allowlisted caller headers go upstream (forwarded-headers.ts): never the caller's key,
    // its accept-encoding (the gateway must read what the provider answers), x-envoy-*/x-llmx-*
    // (routing, retries, our bookkeeping) or anything else. Per-provider extras are kept aside
    // and set per attempt (attempt.ts).
    const set: Record<string, string> = { 'x-request-id': ex.id, 'user-agent': GATEWAY_USER_AGENT };
    const policy = callerHeaderPolicy(h, config.providerForwardHeaders);
    ex.providerHeaders = policy.providerHeaders;
    // Removal must not depend on whether Envoy applies removes before or after sets.
    const remove = policy.remove.filter((name) => !(name in set));
    return phaseResponse('request_headers', { headers: { set, remove } });
  }

  /** The caller's key (src/policy/state-keys.ts: gateway.yaml's, then admin-created ones), checked at this request's time. */
  private authenticate(h: HeaderMap, config: RuntimeConfig): NonNullable<Exchange['caller']> | Promise<NonNullable<Exchange['caller']>> {
    const refused = (err: unknown): never => {
      // A disabled or expired key: the caller gets an unknown key's 401, the log line its name.
      if (err instanceof KeyRefusedError) this.stateless.caller = err.key;
      throw err;
    };
    try {
      const found = authenticateCaller(config.keys, config.admin ? this.stateKeys : undefined, h.get('authorization'), Date.now());
      return found instanceof Promise ? found.catch(refused) : found;
    } catch (err) {
      return refused(err);
    }
  }

  private tooLarge(limit: number): GatewayError {
    return new PayloadTooLargeError(`The request body is larger than the gateway's limit of ${limit} bytes.`, { code: 'request_too_large' });
  }

  private onRequestBody(body: Uint8Array): ExtProcResponse | Promise<ExtProcResponse> {
    const ex = this.requireExchange('request_body');
    if (body.length > ex.config.maxBodyBytes) throw this.tooLarge(ex.config.maxBodyBytes);
    // A large body is parsed and translated one step per event-loop turn (heavy-work/turn-queue.ts).
    if (body.length >= this.heavyBodyBytes) return this.onHeavyRequestBody(ex, body);
    return this.acceptRequest(ex, body, parseChatRequest(body, ex.config.limits));
  }

  /**
   * onRequestBody for a body of HEAVY_BODY_BYTES or more: the same stages and the same answers,
   * each stage its own turn of the shared heavy-work queue, so other requests' messages wait at
   * most one stage. Each stage's time counts in the request's overhead; a request whose stream
   * closed meanwhile (Envoy gave up, the caller left) skips its remaining stages.
   */
  private async onHeavyRequestBody(ex: Exchange, body: Uint8Array): Promise<ExtProcResponse> {
    const job = heavyWork.job();
    const timed: HeavyJob = {
      step: (fn) =>
        job.step(() => {
          if (this.registry.get(ex.id) !== ex) throw new StreamClosed();
          const t0 = process.hrtime.bigint();
          try {
            return fn();
          } finally {
            ex.overheadNs += process.hrtime.bigint() - t0;
          }
        }),
    };
    try {
      const req = await parseChatRequestInTurns(timed, body, ex.config.limits);
      return await timed.step(() => this.acceptRequest(ex, body, req));
    } catch (err) {
      // Nobody reads an answer on a closed stream (server.ts writes none).
      if (err instanceof StreamClosed) return phaseResponse('request_body');
      return this.fail(asGatewayError(err));
    }
  }

  /**
   * The validated request: model, plan, the policy steps (limits, budgets, cache: src/policy/),
   * then the first attempt, as the request_body answer. Asynchronous only when a policy step is
   * (a remote state store); a refusal is thrown (or rejected) as the step's GatewayError.
   */
  private acceptRequest(ex: Exchange, body: Uint8Array, req: ChatRequest): ExtProcResponse | Promise<ExtProcResponse> {
    ex.request = req;
    // 404 for an unknown model, 403 for one outside a scoped key's models (authorize-model.ts).
    const model = ex.probeTarget !== undefined ? probeModel(ex.config, req.model) : authorizeModel(ex.config, ex.caller!, req.model);
    ex.requestBodyLength = body.length;
    ex.model = model;
    ex.stream = req.stream === true;
    ex.includeUsage = ex.stream && req.stream_options?.include_usage === true;
    // This request's plan: the targets that can serve it (a 400 naming the parameter when none
    // can), in the order the model's routing strategy gives (a 503 when constraints refuse).
    // An active probe: its one target, no policy step (no limit, budget, spend or cache).
    if (ex.probeTarget !== undefined) {
      pinProbe(ex, this.sinks.health);
      return this.sendFirstAttempt(ex);
    }
    routeExchange(ex, this.sinks.health);
    const policies = this.sinks.policies;
    if (!policies || policies.size === 0) return this.sendFirstAttempt(ex);
    const admission = policies.admit(ex);
    if (admission instanceof Promise) {
      // A refusal, and anything admitted() throws (a 400 while preparing the attempt), is the caller's error reply.
      return admission.then((a) => this.admitted(ex, a)).catch((err: unknown) => this.fail(asGatewayError(err)));
    }
    return this.admitted(ex, admission);
  }

  /** Continues an admitted request: a reply a step made (a cache hit) or the first attempt. */
  private admitted(ex: Exchange, admission: Admission): ExtProcResponse {
    if (this.closed) {
      // Envoy gave up while a step was deciding: close() settled without this admission.
      void this.sinks.policies!.release(ex, admission);
      return phaseResponse('request_body');
    }
    ex.admission = admission;
    const reply = admission.reply;
    if (reply) {
      this.phase = 'done';
      ex.status = reply.status;
      // The earlier steps' headers (x-ratelimit-*) ride on a cache hit as on any answer.
      return immediateResponse(reply.status, { ...admission.headers, ...reply.headers, ...explainHeaders(ex), 'x-request-id': ex.id }, reply.body, reply.details);
    }
    return this.sendFirstAttempt(ex);
  }

  /**
   * The first attempt is prepared here (translation, path, auth for the first planned target): a
   * request the provider cannot take is a clean 400 before anything goes upstream, and attempt 1
   * needs no upstream ext_proc stream of its own. Retries are prepared by the upstream filter.
   */
  private sendFirstAttempt(ex: Exchange): ExtProcResponse {
    const model = ex.model!;
    const plan = ex.plan!;
    const firstIndex = plan.targets[0]!;
    const first = model.targets[firstIndex]!.provider;
    const attempt = prepareAttempt(ex, first, firstIndex, 1);
    this.sinks.metrics.attempts.inc({ provider: first.name });
    this.phase = 'response_headers';
    // The plan goes to Envoy as headers; the route is re-resolved so the cluster matcher sees them.
    return phaseResponse('request_body', {
      // accept-encoding: what the gateway decodes, per stream or not (content-decoding.ts says why).
      headers: {
        set: { ...plan.headers, ...attempt.headers.set, 'accept-encoding': ex.stream ? ACCEPT_ENCODING.stream : ACCEPT_ENCODING.buffered },
        remove: attempt.headers.remove ?? [],
      },
      ...(attempt.body ? { body: attempt.body } : {}),
      clearRouteCache: true,
    });
  }

  private onResponseHeaders(h: HeaderMap, endOfStream: boolean, details: string | undefined): ExtProcResponse {
    if (!this.exchange) return this.passEnvoyReply(h);
    const ex = this.exchange;
    const status = Number(h.get(':status') ?? '0');
    ex.status = status;
    this.responseHeaders = h;
    const remove: string[] = [];
    for (const name of h.keys()) if (!RESPONSE_HEADER_ALLOWLIST.has(name)) remove.push(name);
    const set: Record<string, string> = { ...ex.admission?.headers, 'x-request-id': ex.id };
    if (ex.explain && ex.routing) set[EXPLAIN_HEADER] = explainHeaderValue(ex.routing);

    // Envoy answered itself: after the plan (no provider reachable, timeout; its
    // response.code_details is not `via_upstream`), or before the body phase ever ran (a body
    // over Envoy's buffer limit, a body that stalled: nothing went upstream, so nothing but
    // Envoy can be answering). Its local_reply_config already wrote an OpenAI error body.
    const beforeAnyAttempt = ex.lastAttempt === undefined && this.phase === 'request_body';
    if (isEnvoyReply(details, (n) => h.has(n)) || beforeAnyAttempt) {
      ex.envoyLocalReply = true;
      ex.errorCode = h.get(ENVOY_LOCAL_REPLY_HEADER) ?? envoyReplyCode(status);
      this.phase = 'done';
      // Envoy's own retry-after (envoy.yaml) stays on its 503s.
      const keep = remove.filter((n) => n !== 'content-length' && n !== 'retry-after' && n !== ENVOY_LOCAL_REPLY_HEADER);
      return this.withOverhead(ex, phaseResponse('response_headers', { headers: { set, remove: [...keep, ENVOY_LOCAL_REPLY_HEADER] } }));
    }
    const attempt = ex.lastAttempt;
    if (!attempt) throw new InternalError('A response arrived for a request that never reached a provider.', { code: 'no_attempt' });
    // For target health (src/routing/health/answer.ts): what this attempt answered.
    attempt.status = status;
    const contentType = h.get('content-type') ?? '';
    const ok = status >= 200 && status < 300;

    if (endOfStream) {
      // No body to translate: a 2xx without a body is a provider fault, an error status speaks for itself.
      const err = ok
        ? new UpstreamError(502, 'api_error', 'The model provider returned an empty response.', { code: 'upstream_empty' })
        : attempt.provider.dialect.parseError(status, (n) => h.get(n), EMPTY);
      return this.fail(err);
    }
    // A compressed answer is decoded before any translator sees it; content-encoding and
    // content-length never reach the caller (not in the response allowlist). A coding the
    // gateway cannot read fails here, before anything went to the caller.
    let codings: ContentCoding[];
    try {
      codings = contentCodings(h.get('content-encoding'));
    } catch (err) {
      // An error status speaks for itself when its body cannot be read.
      return this.fail(ok ? asGatewayError(err) : attempt.provider.dialect.parseError(status, (n) => h.get(n), EMPTY));
    }
    // An error status is always read whole; a success goes out in the shape the caller asked
    // for, whatever the provider chose (SSE assembled, JSON wrapped), or is a 502 when unreadable.
    this.shape = ok ? responseShape(contentType, ex.stream) : 'json';
    if (this.shape === 'unreadable') return this.fail(unreadableAnswer());
    if (this.shape === 'stream') {
      ex.translator = attempt.provider.dialect.createStreamTranslator({
        id: ex.completionId,
        created: ex.created,
        publicModel: ex.model!.name,
        includeUsage: ex.includeUsage,
        // `usage.cost` in the usage chunk, for keys that opted in (priced at this attempt's target).
        ...withUsageCost(ex),
        // Claude's thinking of a tool-calling answer, kept for the loop's next request (policy/thinking-step.ts).
        ...(ex.anthropicThinking ? { onThinking: ex.anthropicThinking.onThinking } : {}),
      });
      // A model with a stall timeout takes its streams in FULL_DUPLEX_STREAMED (Envoy ≥ 1.32), the
      // only body mode in which the gateway can write to the caller while the provider is silent;
      // every other stream keeps STREAMED, the long-proven path (the two measured the same Envoy
      // CPU per chunk: README, Routing, Timeouts). Without a way to push (no attach), STREAMED.
      const idleMs = ex.model!.streamIdleMs;
      if (idleMs !== undefined && this.push) {
        this.responseBodyMode = BodySendMode.FULL_DUPLEX_STREAMED;
        this.idle = new StreamIdleTimer(idleMs, () => this.onStall(ex));
      } else {
        this.responseBodyMode = BodySendMode.STREAMED;
      }
      // The response cache copies what the caller is sent (never holding it back), to store at [DONE].
      if (status === 200) ex.cache?.startStream();
    } else {
      this.responseBodyMode = BodySendMode.BUFFERED;
    }
    set['content-type'] = callerContentType(this.shape);
    if (this.shape === 'stream' || this.shape === 'wrap') set['cache-control'] = 'no-cache';
    if (codings.length > 0) this.decoding = new ResponseDecoding(codings, this.shape === 'stream', ex.config.maxBodyBytes);
    this.phase = 'response_body';
    const res = phaseResponse('response_headers', { headers: { set, remove } });
    res.mode_override = { response_body_mode: this.responseBodyMode };
    return this.withOverhead(ex, res);
  }

  /**
   * A reply Envoy made for a request whose headers this filter never accepted (HTTP/1.0 → 426,
   * headers too large → 431, bad framing or no Host → 400, unknown transfer-encoding → 501,
   * `Upgrade` → 403). envoy.yaml's `composite` wrapper keeps such requests away from the
   * ext_proc; an Envoy config without it still sends their replies here. The status and body
   * (local_reply_config's OpenAI error) go to the caller untouched, with the id of this log
   * line and no internal header.
   */
  private passEnvoyReply(h: HeaderMap): ExtProcResponse {
    const status = Number(h.get(':status') ?? '0');
    this.phase = 'done';
    const requestId = recordStatelessRequest(this.stateless, { status, code: envoyReplyCode(status) }, this.sinks);
    const remove = [...h.keys()].filter(isInternalHeader);
    return phaseResponse('response_headers', { headers: { set: { 'x-request-id': requestId }, remove } });
  }

  /** x-gateway-overhead-ms: the gateway's own handler time before the response headers. */
  private withOverhead(ex: Exchange, res: ExtProcResponse): ExtProcResponse {
    const common = (res.response_headers as { response: { header_mutation?: { set_headers: unknown[] } } }).response;
    const ms = (Number(ex.overheadNs) / 1e6).toFixed(3);
    common.header_mutation?.set_headers.push({ header: { key: OVERHEAD_HEADER, raw_value: Buffer.from(ms) }, append_action: 2 });
    return res;
  }

  private onResponseBody(chunk: Uint8Array, endOfStream: boolean): ExtProcResponse {
    const ex = this.requireExchange('response_body');
    if (this.responseBodyMode !== BodySendMode.BUFFERED) {
      // Ended for the provider's silence: Envoy has the end of the caller's body and expects nothing more.
      if (this.stalled) return NO_RESPONSE;
      const translator = ex.translator!;
      let out: string;
      try {
        out = translator.push(chunk);
        if (endOfStream) out += translator.end();
      } catch (err) {
        return this.failStream(ex, translator, asGatewayError(err), endOfStream);
      }
      // Time to first token, for target health: the first chunk the caller is sent.
      if (out.length > 0) ex.lastAttempt!.firstChunkAtMs ??= performance.now();
      // SDKs hang up as soon as they read [DONE] or an error event, often before the upstream's
      // end reaches us: the request is settled from the translator's terminal event (see close()).
      ex.cache?.push(out);
      ex.content?.pushStream(out);
      if (endOfStream || translator.terminal !== undefined) {
        ex.usage = translator.usage;
        this.phase = 'done';
        this.idle?.stop();
        // Stored only after a clean [DONE]: never an error event nor a cut stream.
        if (translator.terminal?.kind === 'done') ex.cache?.endStream(translator.usage);
      } else {
        this.idle?.touch();
      }
      return this.streamChunk(out, endOfStream);
    }
    // BUFFERED: Envoy sends the whole body once; chunks are joined defensively all the same.
    this.responseChunks.push(chunk);
    if (!endOfStream) return phaseResponse('response_body', { body: '' });
    const raw = this.responseChunks.length === 1 ? this.responseChunks[0]! : Buffer.concat(this.responseChunks);
    this.responseChunks = [];
    this.phase = 'done';
    const dialect = ex.lastAttempt!.provider.dialect;
    const status = ex.status ?? 0;
    const body = this.decoding ? this.decodedWhole(this.decoding, raw, status) : raw;
    let failure: GatewayError;
    if (status >= 200 && status < 300) {
      try {
        const { body: out, usage } = translateBufferedAnswer(this.shape, dialect, body, ex);
        ex.usage = usage;
        const set: Record<string, string> = { ':status': String(status), 'content-length': String(Buffer.byteLength(out)) };
        // BUFFERED: Envoy holds the response headers until this answer, so the cost (known only
        // now, from the body's usage) can still be set as a header on a JSON answer.
        const cost = ex.stream ? undefined : costOfExchange(ex);
        if (cost) set[COST_HEADER] = formatUsd(cost.nanoUsd);
        // A clean 200 answer goes to the response cache (stored in the background; not stored
        // when cut, filtered or unfinished: cache-entry.ts).
        if (status === 200) ex.cache?.saveBody(out, this.shape === 'wrap');
        if (this.shape === 'wrap') ex.content?.pushStream(out);
        else ex.content?.pushBody(out);
        return phaseResponse('response_body', { body: out, headers: { set } });
      } catch (err) {
        failure = asGatewayError(err);
      }
    } else {
      const h = this.responseHeaders;
      failure = dialect.parseError(status, (n) => h?.get(n), body);
    }
    // The provider's error (or an answer the gateway could not read), as the caller sees it.
    const o = toOpenAIError(failure);
    const out = JSON.stringify(o.body);
    ex.errorCode = failure.code ?? undefined;
    ex.status = o.status;
    const set: Record<string, string> = { ':status': String(o.status), 'content-length': String(Buffer.byteLength(out)) };
    if (o.headers['retry-after']) set['retry-after'] = o.headers['retry-after'];
    // The headers announced the stream a wrapped answer would have been: an error is JSON.
    if (this.shape === 'wrap') set['content-type'] = 'application/json';
    return phaseResponse('response_body', { body: out, headers: { set } });
  }

  /**
   * Ends a stream whose translation threw. The 200 and some chunks are already out, so an
   * ImmediateResponse would only make Envoy reset the caller's connection: the caller gets an
   * OpenAI error event instead (the stream's terminal event, so the request settles `failed`
   * with its status and code), and the rest of the upstream body is dropped. Envoy still ends
   * the caller's body cleanly when the upstream body ends.
   */
  private failStream(ex: Exchange, translator: StreamTranslator, failure: GatewayError, endOfStream: boolean): ExtProcResponse {
    if (failure instanceof InternalError) {
      // What broke, for the operator (the err serializer writes no stack trace).
      this.sinks.logger.error({ err: failure, request_id: ex.id }, 'stream translation failed');
    }
    this.phase = 'done';
    this.idle?.stop();
    // Bytes after the caller's [DONE] (or error event) change nothing for the caller.
    if (translator.terminal !== undefined) return this.streamChunk('', endOfStream);
    ex.translator = failedTranslator(translator, failure);
    return this.streamChunk(toOpenAIErrorEvent(failure), endOfStream);
  }

  /**
   * The answer to one streamed body chunk: `out` replaces the provider's chunk (STREAMED), or is
   * sent in its place (FULL_DUPLEX_STREAMED, where the caller's body ends only with the
   * provider's: Envoy passes on nothing by itself in that mode).
   */
  private streamChunk(out: string, endOfStream: boolean): ExtProcResponse {
    if (this.responseBodyMode === BodySendMode.FULL_DUPLEX_STREAMED) return streamedBodyResponse(out, endOfStream);
    return phaseResponse('response_body', { body: out });
  }

  /**
   * The provider sent nothing for `timeouts.streamIdleMs` (FULL_DUPLEX_STREAMED only): the
   * caller's stream ends here with an OpenAI error event (stream-stall.ts), sent unasked; Envoy
   * then ends the caller's body, closes this ext_proc stream (close() settles the request) and
   * resets the silent upstream request.
   */
  private onStall(ex: Exchange): void {
    const translator = ex.translator;
    if (this.closed || this.phase !== 'response_body' || !translator || translator.terminal !== undefined || !this.push) return;
    this.stalled = stalledStreamError(this.idle!.idleMs);
    this.phase = 'done';
    ex.usage = translator.usage;
    this.push(streamedBodyResponse(stalledStreamEvent(this.stalled), true));
  }

  /**
   * A compressed BUFFERED body, decoded whole: an undecodable success is a 502 (thrown, so the
   * caller gets `fail`'s error), an undecodable error body counts as empty (its status speaks
   * for itself).
   */
  private decodedWhole(d: ResponseDecoding, raw: Uint8Array, status: number): Uint8Array {
    try {
      return d.whole(raw);
    } catch (err) {
      if (status >= 200 && status < 300) throw err;
      return EMPTY;
    }
  }

  /**
   * A compressed STREAMED body (SSE), decoded chunk by chunk and handed to onResponseBody as if it
   * had come plain: asynchronous per chunk (ext_proc answers strictly in order); a failure
   * mid-stream becomes an OpenAI error event, the stream's terminal event, and the rest of the
   * body is dropped.
   */
  private decodeThenTranslate(d: ResponseDecoding, chunk: Uint8Array, end: boolean): ExtProcResponse | Promise<ExtProcResponse> {
    const ex = this.requireExchange('response_body');
    if (this.stalled) return NO_RESPONSE;
    if (d.failed) return this.streamChunk('', end);
    return d.next(chunk, end).then(
      (decoded) => {
        const t0 = process.hrtime.bigint();
        try {
          return this.onResponseBody(decoded, end);
        } catch (err) {
          return this.fail(asGatewayError(err));
        } finally {
          ex.overheadNs += process.hrtime.bigint() - t0;
        }
      },
      (err: unknown) => {
        d.failed = true;
        d.destroy();
        return this.failStream(ex, ex.translator!, asGatewayError(err), end);
      },
    );
  }

  private requireExchange(phase: Phase): Exchange {
    if (!this.exchange) throw new InternalError(`ext_proc ${phase} arrived before the request was accepted.`, { code: 'extproc_protocol' });
    return this.exchange;
  }
}

const EMPTY = new Uint8Array(0);

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** `x-gateway-explain` for a reply the gateway makes itself, when the caller asked and may. */
function explainHeaders(ex: Exchange | undefined): Readonly<Record<string, string>> {
  return ex?.explain && ex.routing ? { [EXPLAIN_HEADER]: explainHeaderValue(ex.routing) } : NO_HEADERS;
}

/** A heavy request's stream closed before its turn came. */
class StreamClosed extends Error {}

/** The log's error_code for a reply Envoy made itself, by its status (envoy.yaml's local_reply_config words the same cases). */
function envoyReplyCode(status: number): string {
  switch (status) {
    case 408:
      return 'request_timeout';
    case 413:
      return 'request_too_large';
    case 503:
      return 'upstream_unavailable';
    case 504:
      return 'upstream_timeout';
    default:
      return 'envoy_local_reply';
  }
}
