import { throttledWarn } from '../observability/throttled-warn.ts';
import type { Server } from 'node:http';
import type { ConfigStore } from '../config/store.ts';
import type { Logger } from '../observability/logger.ts';
import { StateKeyDirectory } from '../policy/state-keys.ts';
import { createStateStore, stateConfigFrom, type StateStore } from '../state/index.ts';
import { bindErrorCode, ListenError } from '../listen-error.ts';
import { splitHostPort } from './config.ts';
import { AdminKeys } from './key-service.ts';
import { startAdminServer } from './server.ts';
import type { HealthView } from '../routing/health/view.ts';
import type { PriceRefreshStatus } from '../pricing/refresh.ts';
import type { Registry } from 'prom-client';
import type { RecentRequests } from '../observability/recent-requests.ts';

/** What gateway.yaml `server.admin` brings to a running gateway. */
export interface AdminRuntime {
  /** Admin-created keys, consulted after gateway.yaml's; undefined when `server.admin` was absent at start. */
  readonly stateKeys: StateKeyDirectory | undefined;
  /** The state backend the keys live in (the one given, or one opened here). */
  readonly state: StateStore | undefined;
  /** The admin API's port; undefined when this replica serves none. */
  readonly port: number | undefined;
  stop(): Promise<void>;
}

export interface AdminRuntimeOptions {
  readonly configs: ConfigStore;
  readonly logger: Logger;
  readonly env: NodeJS.ProcessEnv;
  /** A state backend to use; default: `createStateStore` (REDIS_URL, else SQLite at $GATEWAY_STATE_FILE or .run/state/state.sqlite). */
  readonly state?: StateStore;
  /** host:port overriding `server.admin.listen` (where the config enables the listener). */
  readonly listen?: string;
  /** Targets' health for `POST /admin/routing/explain` (read when asked); absent: every target healthy and unmeasured. */
  readonly health?: () => HealthView | undefined;
  /** The price table's refresh state for `GET /admin/prices`; absent: the route is 404. */
  readonly priceStatus?: () => PriceRefreshStatus;
  /** The dashboard's sources (`GET /admin/dashboard`): the metrics registry and this replica's last request lines; absent: no dashboard. */
  readonly dashboard?: { readonly registry: Registry; readonly recent: RecentRequests };
}

/**
 * Opens the key store and starts the admin listener as `server.admin` says (src/admin/config.ts).
 * Throws ListenError when the admin port is taken, StateUnavailableError when the SQLite file
 * cannot be opened.
 */
export async function startAdminRuntime(opts: AdminRuntimeOptions): Promise<AdminRuntime> {
  const settings = opts.configs.current.admin;
  if (settings === undefined) return { stateKeys: undefined, state: opts.state, port: undefined, stop: async () => undefined };
  const owned = opts.state === undefined;
  const state = opts.state ?? (await createStateStore(stateConfigFrom(opts.configs.current.state, opts.env), opts.env));
  // One line per 10 s while the store is down, not one per request.
  const warn = throttledWarn(opts.logger, 'admin-created key lookup failed; the request is refused with 503');
  const stateKeys = new StateKeyDirectory(state, { onFault: (err) => warn({ err }) });
  let server: Server | undefined;
  if (settings.offReason) opts.logger.warn({ reason: settings.offReason }, 'admin API listener off');
  if (settings.listen !== '') {
    const listen = opts.listen ?? settings.listen;
    const addr = splitHostPort(listen);
    if (!addr) throw new Error(`--admin-listen "${listen}" is not host:port`);
    const keys = new AdminKeys({ store: state, config: () => opts.configs.current, directory: stateKeys });
    server = await startAdminServer(addr.host, addr.port, {
      keys,
      adminKeySha256: () => opts.configs.current.admin?.keySha256,
      audit: (fields, msg) => opts.logger.info(fields, msg),
      log: opts.logger,
      // GET /admin/spend: the spend history every replica writes to the same state backend.
      spend: { store: state },
      routing: { config: () => opts.configs.current, ...(opts.health ? { health: opts.health } : {}), keyNamed: (name) => keys.gatewayKeyNamed(name), store: state },
      costs: { config: () => opts.configs.current, ...(opts.health ? { health: opts.health } : {}) },
      ...(opts.priceStatus ? { prices: { config: () => opts.configs.current, status: opts.priceStatus } } : {}),
      ...(opts.dashboard
        ? { dashboard: { ...opts.dashboard, spend: state, config: () => opts.configs.current, ...(opts.health ? { health: opts.health } : {}), ...(opts.priceStatus ? { prices: { config: () => opts.configs.current, status: opts.priceStatus } } : {}) } }
        : {}),
    }).catch(async (err: unknown) => {
      if (owned) await state.close();
      const code = bindErrorCode(err);
      throw code ? new ListenError('admin', listen, code) : err;
    });
  }
  const address = server?.address();
  return {
    stateKeys,
    state,
    port: address && typeof address === 'object' ? address.port : undefined,
    async stop() {
      const closed = new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      server?.closeAllConnections();
      await closed;
      if (owned) await state.close();
    },
  };
}
