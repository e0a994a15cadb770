import { z } from 'zod';
import type { Caller, RuntimeConfig } from '../config/runtime.ts';
import { InvalidRequestError, NotFoundError } from '../errors/gateway-error.ts';
import { parseChatRequest } from '../exchange/parse-request.ts';
import { estimatePromptTokens } from '../exchange/stream-settlement.ts';
import { authorizeModel } from '../policy/authorize-model.ts';
import { UNRESTRICTED_SCOPE } from '../policy/model-scope.ts';
import { compactExplanation, type CompactExplanation } from '../routing/explain-header.ts';
import type { TargetHealth } from '../routing/health/target-health.ts';
import type { HealthView } from '../routing/health/view.ts';
import { routeRequest } from '../routing/route-request.ts';
import { limitedTargets } from '../routing/limits/limit-check.ts';
import { requestOutputTokens } from '../policy/rate-limit-exchange.ts';
import type { StateStore } from '../state/store.ts';

/** `POST /admin/routing/explain` body: a chat completion request and, optionally, the name of the key whose scope applies. */
const explainBodySchema = z.strictObject({
  request: z.record(z.string(), z.unknown(), { error: 'request: a chat completion request body (a JSON object)' }),
  key: z.string().min(1).max(128).optional(),
});

/** What `POST /admin/routing/explain` answers (200). */
export interface RoutingExplainView {
  readonly object: 'gateway.routing_explanation';
  /** The public model (or alias) asked for, and the model that serves it. */
  readonly model: string;
  readonly servedBy: string;
  /** The key whose scope was applied; null: none (every model). */
  readonly key: string | null;
  /** The attempt order, `provider/model` per attempt; empty for a refusal. */
  readonly plan: readonly string[];
  /** Envoy timeout headers the plan carries (ms as strings; src/routing/upstream-timeouts.ts). */
  readonly timeouts: Readonly<Record<string, string>>;
  readonly explanation: CompactExplanation;
}

export interface RoutingExplainerOptions {
  readonly config: () => RuntimeConfig;
  /** Targets' health as routing reads it now; undefined: every target healthy and unmeasured. */
  readonly health?: () => HealthView | undefined;
  /** A key by name (gateway.yaml's, then admin-created ones); undefined when there is none. */
  readonly keyNamed: (name: string) => Promise<Caller | undefined>;
  /** The state backend, to check provider limits (src/routing/limits/limit-check.ts); absent: not checked. */
  readonly store?: StateStore;
}

/** The admin's caller when no key is named: every model, no limits. */
const ADMIN_CALLER: Caller = Object.freeze({ name: 'admin', team: 'admin', scope: UNRESTRICTED_SCOPE, disabled: false });

/**
 * The routing decision a chat request would get now, without sending anything upstream, for ops
 * reviewing routing rules: the same checks as the request path (the request's validation and
 * limits: 400; the model and the key's scope: 404/403; capability: 400) and the same decision
 * (strategy, constraints, health, prices at this instant), provider limits included (checked
 * without spending: src/routing/limits/limit-check.ts). Differences from a real request: no
 * other policy step runs (key and team limits, budgets, cache), no wait for a cooling target, and
 * a half-open target is shown as a candidate without taking its probe (the probe stays for real traffic). An unknown `key`: 404 `key_not_found`.
 */
export async function explainRouting(opts: RoutingExplainerOptions, body: unknown): Promise<RoutingExplainView> {
  const parsed = explainBodySchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const param = issue.path.map(String).join('.') || null;
    throw new InvalidRequestError(`Invalid ${param ? `'${param}'` : 'request body'}: ${issue.message}.`, { param, code: issue.code === 'unrecognized_keys' ? 'unknown_parameter' : 'invalid_value' });
  }
  const config = opts.config();
  let caller = ADMIN_CALLER;
  if (parsed.data.key !== undefined) {
    const found = await opts.keyNamed(parsed.data.key);
    if (!found) throw new NotFoundError(`No key named '${parsed.data.key.slice(0, 64)}'.`, { param: 'key', code: 'key_not_found' });
    caller = found;
  }
  const request = parseChatRequest(Buffer.from(JSON.stringify(parsed.data.request)), config.limits);
  const model = authorizeModel(config, caller, request.model);
  const view = opts.health?.();
  const health = view ? readOnly(view) : undefined;
  const promptTokens = estimatePromptTokens(request);
  const nowMs = Date.now();
  let { decision, plan } = routeRequest(model, request, promptTokens, { health, nowMs });
  // Provider limits as the request path meets them: a target without room leaves the order (`limit`).
  if (opts.store && !config.providerLimits.empty && decision.order.length > 0) {
    const tokens = promptTokens + requestOutputTokens(request, model.defaultMaxTokens);
    const limited = await limitedTargets(opts.store, config.providerLimits, model.targets, decision.order, tokens);
    if (limited.size > 0) {
      let mask = 0;
      for (const i of limited.keys()) mask |= 1 << i;
      const again = routeRequest(model, request, promptTokens, { health, nowMs, limited: mask });
      decision = again.decision.withLimits(again.decision.order, limited);
      plan = again.plan;
    }
  }
  return {
    object: 'gateway.routing_explanation',
    model: model.name,
    servedBy: model.aliasOf ?? model.name,
    key: parsed.data.key ?? null,
    plan: (plan?.targets ?? []).map((i) => model.targets[i]!.key),
    timeouts: model.timeoutHeaders,
    explanation: compactExplanation(decision),
  };
}

/** Health for an explanation: read, never fed, and a half-open probe is not taken. */
function readOnly(view: HealthView): TargetHealth {
  return { get: (key, nowMs) => view.get(key, nowMs), record: () => undefined, tryProbe: () => true, releaseProbe: () => undefined };
}
