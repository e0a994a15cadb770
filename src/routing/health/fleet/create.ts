import type { RuntimeConfig } from '../../../config/runtime.ts';
import type { OutageLogger } from '../../../policy/outage-log.ts';
import type { RedisSettings } from '../../../state/redis/settings.ts';
import type { TransitionListener } from '../breaker.ts';
import type { HealthConfig } from '../breaker-schema.ts';
import { LocalHealth } from '../local.ts';
import type { TargetHealth } from '../target-health.ts';
import type { TargetKey } from '../view.ts';
import { FleetHealth } from './fleet-health.ts';

/** Target health as the gateway holds it: the request path's side, a reload, and its end. */
export interface GatewayHealth extends TargetHealth {
  /** New `routing.health` settings (a config reload). */
  configure(config: HealthConfig): void;
  /** Epoch ms of the last attempt recorded for `key` (active probes); undefined when none. */
  lastRecordedMs(key: TargetKey): number | undefined;
  /** Targets to keep track of (gateway.yaml's, at start and on reload): FleetHealth then learns the fleet's state of each before their first request. */
  track(keys: Iterable<TargetKey>): void;
  /** Stops background work and closes connections (nothing for LocalHealth). */
  close(): Promise<void>;
}

/**
 * The gateway's target health: FleetHealth over Redis when `env.REDIS_URL` is set (shared by
 * every replica with the same key prefix: fleet-health.ts), else LocalHealth per process,
 * exactly as without a fleet. Throws RedisUrlError for a REDIS_URL it cannot use.
 */
export function createTargetHealth(opts: {
  config: HealthConfig;
  onTransition: TransitionListener;
  env: NodeJS.ProcessEnv;
  /** gateway.yaml `server.state.redis` (key prefix, timeouts). */
  redis: RedisSettings;
  log: OutageLogger;
}): GatewayHealth {
  const url = opts.env.REDIS_URL || undefined;
  if (url === undefined) {
    const local = new LocalHealth({ config: opts.config, onTransition: opts.onTransition });
    // Per process there is nothing to learn ahead, and nothing to close.
    return Object.assign(local, { track: () => {}, close: async () => {} });
  }
  return new FleetHealth({ url, redis: opts.redis, config: opts.config, onTransition: opts.onTransition, log: opts.log });
}

/** Every target key of a config's models (aliases have their model's targets). */
export function targetKeysOf(config: Pick<RuntimeConfig, 'models'>): TargetKey[] {
  const keys = new Set<TargetKey>();
  for (const model of config.models.values()) for (const t of model.targets) keys.add(t.key);
  return [...keys];
}
