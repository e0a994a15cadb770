import type { RuntimeConfig, RuntimeModel } from '../../../config/runtime.ts';
import { InvalidRequestError, UpstreamError } from '../../../errors/gateway-error.ts';
import type { Exchange } from '../../../exchange/exchange.ts';
import { UNRESTRICTED_SCOPE } from '../../../policy/model-scope.ts';
import type { GatewayKey } from '../../../policy/keys.ts';
import { withTimeouts } from '../../route-request.ts';
import { planFor } from '../../strategy/plan-cache.ts';
import type { TargetHealth } from '../target-health.ts';
import { PROBE_NOT_GRANTED_CODE } from './send.ts';

/**
 * The stand-in caller of an active probe (probe-gate.ts): no key, no team, every model. Only the
 * router's probe path uses it; no policy step runs for a probe (no rate limit, budget, spend or
 * cache), and the log line names no key (finish.ts).
 */
export const PROBE_CALLER: GatewayKey = Object.freeze({ name: 'gateway-probe', team: 'gateway-probe', scope: UNRESTRICTED_SCOPE, disabled: false });

/** The configured model (or alias) a probe asks for; a 400 when there is none (a config reload raced the probe). */
export function probeModel(config: RuntimeConfig, name: string): RuntimeModel {
  const model = config.models.get(name) ?? config.aliases.get(name);
  if (model === undefined) throw new InvalidRequestError(`Probe for an unknown model ${JSON.stringify(name.slice(0, 256))}.`, { param: 'model', code: 'model_not_found' });
  return model;
}

/**
 * Pins a probe's plan to its one target (`ex.probeTarget`), no failover: the answer is that
 * target's. A half-open breaker's probe is asked for with `tryProbe`, as for a caller's request
 * (a grant goes in `ex.probes`, given back by finish if unused); when a caller's request holds
 * it, the probe is refused here, 503 `probe_not_granted`, before anything goes upstream.
 */
export function pinProbe(ex: Exchange, health: TargetHealth | undefined, nowMs: number = Date.now()): void {
  const model = ex.model!;
  const key = ex.probeTarget!;
  const index = model.targets.findIndex((t) => t.key === key);
  if (index < 0) throw new InvalidRequestError(`Model ${model.name} has no target ${key}.`, { param: 'model', code: 'probe_target_unknown' });
  if (health !== undefined && health.get(key, nowMs).breaker !== 'closed') {
    if (!health.tryProbe(key, nowMs)) throw new UpstreamError(503, 'service_unavailable_error', `The half-open probe of ${key} is taken.`, { code: PROBE_NOT_GRANTED_CODE });
    ex.probes = Object.freeze([key]);
  }
  ex.plan = withTimeouts(model, planFor(model.targets, [index]));
}
