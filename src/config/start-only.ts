import { isDeepStrictEqual } from 'node:util';
import type { RuntimeConfig } from './runtime.ts';

/** Which listen addresses the command line set (those the config's do not decide). */
export interface ListenOverrides {
  readonly listen?: boolean;
  readonly metricsListen?: boolean;
  readonly adminListen?: boolean;
}

/**
 * The gateway.yaml settings read only when the gateway starts (each field's docstring says
 * "read at start") that differ between the config it started with and `next`, as gateway.yaml
 * paths: `server.listen`, `server.metricsListen`, `server.admin.listen` (unless the command line
 * set that address), `server.maxBodyBytes` when raised (the ext_proc's gRPC message limit was
 * sized from it at start; a lower value applies at once), `observability.tracing`,
 * `observability.requestLog.file`. `server.state.redis` is not here: src/state's
 * applyStateSettings reports it. Empty when nothing waits for a restart.
 */
export function startOnlyChanges(start: RuntimeConfig, next: RuntimeConfig, overrides: ListenOverrides = {}): string[] {
  const changed: string[] = [];
  if (!overrides.listen && start.listen !== next.listen) changed.push('server.listen');
  if (!overrides.metricsListen && start.metricsListen !== next.metricsListen) changed.push('server.metricsListen');
  if (!overrides.adminListen && (start.admin?.listen ?? '') !== (next.admin?.listen ?? '')) changed.push('server.admin.listen');
  if (next.maxBodyBytes > start.maxBodyBytes) changed.push('server.maxBodyBytes');
  if (!isDeepStrictEqual(start.observability.tracing, next.observability.tracing)) changed.push('observability.tracing');
  if (!isDeepStrictEqual(start.observability.requestLog.file, next.observability.requestLog.file)) changed.push('observability.requestLog.file');
  return changed;
}
