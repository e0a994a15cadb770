import type { Server } from 'node:http';
import { ConfigStore } from './config/store.ts';
import { ConfigError } from './config/errors.ts';
import { createProcessorFactory } from './exchange/processor-factory.ts';
import { ExchangeRegistry } from './exchange/registry.ts';
import { ExtProcServer } from './extproc/server.ts';
import { AccessLogService } from './extproc/access-log-service.ts';
import { EnvoyOutcomes } from './exchange/envoy-outcomes.ts';
import { GatewayMetrics } from './metrics/metrics.ts';
import { startMetricsServer } from './metrics/server.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import { bindErrorCode, ListenError } from './listen-error.ts';
import { startAdminRuntime, type AdminRuntime } from './admin/runtime.ts';
import { applyStateSettings, createStateStore, stateConfigFrom, stateLogFields, type StateStore } from './state/index.ts';
import { createPolicies, type Policies } from './policy/index.ts';
import { LocalHealth } from './routing/health/local.ts';
import { reportTransitions } from './routing/health/report.ts';
import { UpstreamAttempts } from './routing/health/upstream-attempts.ts';

export interface GatewayOptions {
  configFile: string;
  env?: NodeJS.ProcessEnv;
  /** Overrides server.listen from the config (tests use port 0). */
  listen?: string;
  metricsListen?: string;
  logger?: Logger;
  watchConfig?: boolean;
  /** Overrides server.admin.listen (where the config enables the admin API; tests use port 0). */
  adminListen?: string;
  /**
   * The state backend (limits, budgets, admin-created keys); default: one opened from the
   * environment and closed on stop: Redis when REDIS_URL is set, else the embedded store with its
   * SQLite file at $GATEWAY_STATE_FILE (default .run/state/state.sqlite).
   */
  state?: StateStore;
}

/** The ext_proc service: config, state registry, gRPC server and metrics, wired together. */
export class Gateway {
  private constructor(
    readonly configs: ConfigStore,
    readonly extproc: ExtProcServer,
    readonly registry: ExchangeRegistry,
    readonly metrics: GatewayMetrics,
    readonly logger: Logger,
    readonly outcomes: EnvoyOutcomes,
    private readonly metricsServer: Server | undefined,
    private readonly markNotServing: () => void,
    /** The admin key API and the admin-created keys (gateway.yaml `server.admin`). */
    readonly admin: AdminRuntime,
    readonly state: StateStore,
    private readonly policies: Policies,
    /** Whether stop() closes `state` (it was opened here, not given). */
    private readonly ownsState: boolean,
  ) {}

  static async start(opts: GatewayOptions): Promise<Gateway> {
    const logger = opts.logger ?? createLogger();
    const configs = new ConfigStore(opts.configFile, opts.env ?? process.env);
    const metrics = new GatewayMetrics();
    const registry = new ExchangeRegistry(50_000, 30 * 60_000);
    const cfg = configs.current;
    const env = opts.env ?? process.env;
    const ownsState = opts.state === undefined;
    const state = opts.state ?? (await createStateStore(stateConfigFrom(cfg.state, env), env));
    let stateSettings = cfg.state;
    const closeState = async (): Promise<void> => {
      if (ownsState) await state.close();
    };
    // Target health (src/routing/health/): answers from the request path, failed attempts from
    // Envoy's upstream log; breaker changes are logged and counted. Reconfigured on reload.
    const health = new LocalHealth({ config: cfg.routingHealth, onTransition: reportTransitions(logger, metrics) });
    const admin = await startAdminRuntime({
      configs,
      logger,
      env,
      state,
      // POST /admin/routing/explain reads the same health the request path does.
      health: () => health,
      ...(opts.adminListen ? { listen: opts.adminListen } : {}),
    }).catch(async (err: unknown) => {
      registry.close();
      await closeState();
      throw err;
    });
    const policies = createPolicies({ store: state, logger, metrics });
    // Late upstream-log entries find their request: in flight, held for Envoy's account, or just finished.
    let held: EnvoyOutcomes | undefined;
    const upstreamAttempts = new UpstreamAttempts({ health, metrics, lookup: (id) => registry.get(id) ?? held?.heldExchange(id) });
    const sinks = { logger, metrics, policies: policies.pipeline, health, upstreamAttempts };
    // Envoy's access log (envoy.yaml `access_log`) tells the log what Envoy answered itself.
    const outcomes = new EnvoyOutcomes(sinks, { inFlight: (id) => registry.get(id) !== undefined });
    held = outcomes;
    const accessLog = new AccessLogService({
      onReply: (reply) => outcomes.onReply(reply),
      onAttempt: (attempt) => upstreamAttempts.onAttempt(attempt),
      onError: (err) => logger.warn({ err }, 'Envoy access log entry dropped'),
    });
    const extproc = new ExtProcServer(createProcessorFactory(configs, registry, { ...sinks, outcomes }, admin.stateKeys), {
      listen: opts.listen ?? cfg.listen,
      // Bodies travel inside one gRPC message; leave room for framing and headers.
      maxMessageBytes: cfg.maxBodyBytes * 2 + 1024 * 1024,
      onStreamError: (err) => logger.error({ err }, 'ext_proc stream failed'),
      services: [accessLog],
    });
    const listen = opts.listen ?? cfg.listen;
    const port = await extproc.start().catch(async (err: unknown) => {
      await admin.stop();
      await policies.close();
      await closeState();
      const code = bindErrorCode(err);
      throw code ? new ListenError('extproc', listen, code) : err;
    });
    const metricsListen = opts.metricsListen ?? cfg.metricsListen;
    // /healthz answers 200 only while the gRPC server is serving (false again once stop() begins).
    let serving = true;
    const metricsServer = await startMetricsServer(metricsListen, metrics, () => serving).catch(async (err: unknown) => {
      await extproc.stop(0);
      await admin.stop();
      outcomes.close();
      registry.close();
      await policies.close();
      await closeState();
      const code = bindErrorCode(err);
      throw code ? new ListenError('metrics', metricsListen, code) : err;
    });
    if (opts.watchConfig !== false) {
      configs.watch({
        onReload: (c) => {
          metrics.configReloads.inc({ result: 'applied' });
          health.configure(c.routingHealth);
          if (ownsState) {
            // The command timeout reaches the live client; the rest waits for a restart (not refused).
            const { needRestart } = applyStateSettings(state, stateSettings, c.state);
            // What the store runs with: the new command timeout, the start's other settings.
            stateSettings = { redis: { ...stateSettings.redis, commandTimeoutMs: c.state.redis.commandTimeoutMs } };
            if (needRestart.length > 0) logger.warn({ fields: needRestart }, `${needRestart.join(', ')} changed; the state backend keeps the old value until the gateway restarts`);
          }
          logger.info({ config: c.source, version: c.version, models: c.models.size }, 'config reloaded');
        },
        onRejected: (err) => {
          metrics.configReloads.inc({ result: 'rejected' });
          logger.error({ error: err instanceof ConfigError ? err.message : String(err) }, 'config change refused; the last good config keeps serving');
        },
      });
    }
    logger.info(
      { extproc_port: port, config: cfg.source, models: [...cfg.models.keys()], ...stateLogFields(state), ...(admin.port ? { admin_port: admin.port } : {}) },
      'gateway ready',
    );
    // Serving anyway (each policy applies its onStateError until the backend answers), but a
    // wrong password or unreachable sentinels must not look like a healthy start.
    const stateDown = state.isReady() ? undefined : state.notReadyReason?.();
    if (stateDown) logger.warn({ state: state.backend, reason: stateDown }, 'state backend not reachable at start; limits and budgets apply their onStateError until it answers');
    return new Gateway(configs, extproc, registry, metrics, logger, outcomes, metricsServer, () => (serving = false), admin, state, policies, ownsState);
  }

  get port(): number {
    return this.extproc.port;
  }

  async stop(): Promise<void> {
    this.markNotServing();
    this.configs.close();
    await this.extproc.stop(2000);
    await this.admin.stop();
    // Lines still waiting for Envoy's entry are logged (and settled) as they are.
    this.outcomes.close();
    this.registry.close();
    await this.policies.close();
    // After every settlement: the embedded store commits pending spend as it closes.
    if (this.ownsState) await this.state.close();
    await new Promise<void>((resolve) => (this.metricsServer ? this.metricsServer.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => this.logger.flush(() => resolve()));
  }
}
