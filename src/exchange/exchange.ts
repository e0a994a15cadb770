import type { ContentCapture } from '../observability/content-capture.ts';
import { randomUUID } from 'node:crypto';
import type { Caller, RuntimeConfig, RuntimeModel, RuntimeProvider } from '../config/runtime.ts';
import type { StreamTranslator, UpstreamRequest } from '../dialects/dialect.ts';
import type { ChatRequest } from '../openai/chat-request.ts';
import { estimatePromptTokens } from './stream-settlement.ts';
import type { Usage } from '../openai/usage.ts';
import type { RoutingPlan } from '../routing/plan.ts';
import type { RoutingDecision } from '../routing/strategy/decision.ts';
import type { Admission } from '../policy/pipeline.ts';
import type { ThinkingLink } from '../policy/thinking-step.ts';
import type { ExchangeCache } from '../policy/response-cache/exchange-io.ts';
import { NO_TARGETS, type TargetKey } from '../routing/health/view.ts';

export interface Attempt {
  readonly provider: RuntimeProvider;
  readonly providerModel: string;
  readonly number: number;
  /** The target's health key, `<provider>/<provider model>` (src/routing/health/view.ts). */
  readonly key: TargetKey;
  /**
   * When the gateway sent this attempt on its way, ms on the monotonic clock (performance.now()):
   * the router-level request-body answer for attempt 1, the upstream filter's request_headers
   * for retries. Durations only; health's `atMs` is epoch ms taken when the outcome is known.
   */
  readonly startedAtMs: number;
  /** The provider's HTTP status, set at the response headers (only the attempt that answered has one). */
  status?: number;
  /** performance.now() when the gateway forwarded this attempt's first stream chunk (time to first token). */
  firstChunkAtMs?: number;
}

/**
 * `chatcmpl-` + 24 hex characters. randomUUID draws from Node's pooled random buffer; a
 * randomBytes call per request showed up in the profile (a syscall-backed fill each time).
 */
function completionId(): string {
  const u = randomUUID();
  return `chatcmpl-${u.slice(0, 8)}${u.slice(9, 13)}${u.slice(15, 18)}${u.slice(19, 23)}${u.slice(24, 29)}`;
}

/**
 * Everything one request carries between phases and between the two filter positions.
 * Created by the router-level stream at request headers, read by each upstream attempt,
 * removed from the registry when the router-level stream closes.
 */
export class Exchange {
  /**
   * The request id, generated here and written over x-request-id, which correlates each
   * attempt with its request. Never the caller's: a caller choosing it could collide with
   * (and be translated as) another caller's request.
   */
  readonly id: string = randomUUID();
  /** The x-request-id the caller sent, kept for its logs only. */
  readonly clientRequestId: string | undefined;
  /** The caller-facing completion id, shared by every chunk of a stream. */
  readonly completionId: string = completionId();
  readonly created: number = Math.floor(Date.now() / 1000);
  readonly startedAt: bigint = process.hrtime.bigint();
  caller: Caller | undefined;
  request: ChatRequest | undefined;
  /** Size of the caller's body, for attempts that send it unchanged. */
  requestBodyLength = 0;
  /** The caller's values of headers some provider's `forwardHeaders` lists; set per attempt (forwarded-headers.ts). */
  providerHeaders: Readonly<Record<string, string>> = {};
  model: RuntimeModel | undefined;
  /**
   * This request's targets in attempt order (src/routing/route-request.ts): attempt N is
   * `model.targets[plan.targets[N - 1]]`, whose `key` is the target's health key.
   */
  plan: RoutingPlan | undefined;
  /** Why the plan has this order (src/routing/strategy/decision.ts); set once routing ran, also for a refusal. */
  routing: RoutingDecision | undefined;
  /** Half-open probes routing granted this request; finish gives back the ones no attempt used. */
  probes: readonly TargetKey[] = NO_TARGETS;
  /**
   * Set on the gateway's own active probe (src/routing/health/probes/): the one target it is
   * pinned to. No policy step runs for it; it is logged with `probe: true` and no key.
   */
  probeTarget: TargetKey | undefined;
  /** The caller's IP as Envoy saw it (`source.address`, src/observability/client-address.ts); undefined when Envoy sent none. */
  clientAddress: string | undefined;
  /** Prompt and completion text for the request line, when the caller's team has content logging on (src/observability/content-capture.ts). */
  content: ContentCapture | undefined;
  /** The caller asked for `x-gateway-explain` and its key may (`explain: true`): the explanation goes on the response. */
  explain = false;
  stream = false;
  includeUsage = false;
  /** The caller's `cache-control` request header (the response cache honours no-store / no-cache). */
  cacheControl: string | undefined;
  /** The response cache's lookup and writer for this request (src/policy/response-cache/exchange-io.ts); undefined when the cache step did not run. */
  cache: ExchangeCache | undefined;
  /** What the policy steps decided at the request body (pipeline.ts); settled once with the request. */
  admission: Admission | undefined;
  readonly attempts: Attempt[] = [];
  status: number | undefined;
  /** Set when Envoy itself answered (no provider reached, timeout): already in OpenAI format. */
  envoyLocalReply = false;
  translator: StreamTranslator | undefined;
  /**
   * Claude's kept thinking for this request's tool loop, and the sink for its answer's
   * (src/policy/thinking-step.ts); undefined when the request does not use Anthropic thinking.
   */
  anthropicThinking: ThinkingLink | undefined;
  usage: Usage | undefined;
  errorCode: string | undefined;
  /** Time spent inside the gateway's own handlers, over all phases and positions. */
  overheadNs = 0n;
  private readonly translations = new Map<number, UpstreamRequest>();
  private promptTokens: number | undefined;
  private closer: AbortController | undefined;
  private closed = false;

  constructor(
    readonly config: RuntimeConfig,
    clientRequestId: string | undefined,
  ) {
    this.clientRequestId = clientRequestId;
  }

  /**
   * The request's input tokens as the gateway estimates them (characters / 4, estimatePromptTokens),
   * computed once: the rate-limit and budget reservations and a cut stream's settlement share it.
   */
  promptTokenEstimate(): number {
    return (this.promptTokens ??= estimatePromptTokens(this.request));
  }

  /**
   * Aborted once the router-level stream closed (the caller left, or the request is over): ends
   * a wait made on the caller's behalf (src/routing/limits/provider-limit-step.ts). Created on
   * first use, so a request that never waits allocates nothing.
   */
  get closedSignal(): AbortSignal {
    if (this.closer === undefined) {
      this.closer = new AbortController();
      if (this.closed) this.closer.abort();
    }
    return this.closer.signal;
  }

  /** The router-level stream closed (RouterProcessor.close). */
  markClosed(): void {
    this.closed = true;
    this.closer?.abort();
  }

  get lastAttempt(): Attempt | undefined {
    return this.attempts[this.attempts.length - 1];
  }

  /** The translated request for a target, built once even if Envoy retries the same target. */
  translationFor(targetIndex: number): UpstreamRequest {
    let t = this.translations.get(targetIndex);
    if (!t) {
      const target = this.model!.targets[targetIndex]!;
      t = target.provider.dialect.buildRequest(this.request!, {
        providerModel: target.model,
        defaultMaxTokens: this.model!.defaultMaxTokens,
        ...(this.anthropicThinking?.kept ? { keptThinking: this.anthropicThinking.kept } : {}),
      });
      this.translations.set(targetIndex, t);
    }
    return t;
  }
}
