import path from 'node:path';
import { EmbeddedStateStore } from './embedded/store.ts';
import { RedisStateStore } from './redis/store.ts';
import { stateSettingsChanges, type StateSettings } from './redis/settings.ts';
import type { StateStore } from './store.ts';

export type { StateStore } from './store.ts';
export { StateUnavailableError } from './errors.ts';

const PROJECT_ROOT = path.resolve(import.meta.dirname, '../..');

/** Where the embedded backend keeps its SQLite file unless configured: the project's run dir. */
export const DEFAULT_SQLITE_PATH = path.join(PROJECT_ROOT, '.run', 'state', 'state.sqlite');

export interface StateConfig {
  /** Redis URL; when absent, `REDIS_URL` from the environment; when neither, the embedded backend. */
  redisUrl?: string;
  /** Embedded: the SQLite file for spend and records. Default `.run/state/state.sqlite`. */
  sqlitePath?: string;
  /** Sub-windows per rate-limit window (N). Default 10. */
  subWindows?: number;
  /** Embedded response cache bound, bytes. Default 64 MiB. */
  cacheMaxBytes?: number;
  /** Redis (gateway.yaml `server.state.redis`): per-command timeout, ms (default 250); connect timeout, ms (default 2000); key prefix (default `llmx:`). */
  redis?: { commandTimeoutMs?: number; connectTimeoutMs?: number; keyPrefix?: string; onError?: (err: Error) => void };
}

/**
 * Redis when a URL is configured or `REDIS_URL` is set (one node, Sentinel or Cluster by its
 * scheme; src/state/redis/connect.ts), else embedded. For Redis it waits up to
 * the connect timeout for the first connection but does not fail without one: the store then
 * throws StateUnavailableError per call, and each policy applies its failure mode, until Redis
 * answers. Throws StateUnavailableError when the SQLite file cannot be opened, RedisUrlError
 * for a REDIS_URL it cannot use, RangeError for a key prefix with `{` or `}`.
 */
export async function createStateStore(config: StateConfig = {}, env: NodeJS.ProcessEnv = process.env): Promise<StateStore> {
  const url = config.redisUrl ?? (env.REDIS_URL || undefined);
  if (url) {
    const store = new RedisStateStore({
      url,
      ...config.redis,
      ...(config.subWindows !== undefined ? { subWindows: config.subWindows } : {}),
    });
    await store.waitReady(config.redis?.connectTimeoutMs ?? 2000);
    return store;
  }
  return new EmbeddedStateStore({
    sqlitePath: config.sqlitePath ?? DEFAULT_SQLITE_PATH,
    ...(config.subWindows !== undefined ? { subWindows: config.subWindows } : {}),
    ...(config.cacheMaxBytes !== undefined ? { cacheMaxBytes: config.cacheMaxBytes } : {}),
  });
}

/** Fields for the `gateway ready` line: `state` (backend), and for Redis `redis_mode` (no address: log lines name no internal host). */
export function stateLogFields(store: StateStore): Record<string, string> {
  if (store instanceof RedisStateStore) return { state: store.backend, redis_mode: store.mode };
  return { state: store.backend };
}

/**
 * Applies a hot-reloaded `server.state` to a running store: the Redis command timeout takes
 * effect on the next command; returns the fields that changed but wait for a restart (connect
 * timeout, key prefix). Nothing to do for the embedded store (the settings are Redis's).
 */
export function applyStateSettings(store: StateStore, before: StateSettings, after: StateSettings): { applied: string[]; needRestart: string[] } {
  if (!(store instanceof RedisStateStore)) return { applied: [], needRestart: [] };
  const { live, restart } = stateSettingsChanges(before, after);
  if (live.length > 0) store.setCommandTimeout(after.redis.commandTimeoutMs);
  return { applied: live, needRestart: restart };
}

/** createStateStore's settings from gateway.yaml `server.state` and `$GATEWAY_STATE_FILE`. */
export function stateConfigFrom(settings: StateSettings, env: NodeJS.ProcessEnv): StateConfig {
  return { ...(env.GATEWAY_STATE_FILE ? { sqlitePath: env.GATEWAY_STATE_FILE } : {}), redis: { ...settings.redis } };
}
