import type { Server } from 'node:http';
import { ConfigStore } from './config/store.ts';
import { ConfigError } from './config/errors.ts';
import { createProcessorFactory, FILTER_METADATA_KEY } from './exchange/processor-factory.ts';
import { ExchangeRegistry } from './exchange/registry.ts';
import { ExtProcServer } from './extproc/server.ts';
import { AccessLogService } from './extproc/access-log-service.ts';
import { EnvoyOutcomes } from './exchange/envoy-outcomes.ts';
import { GatewayMetrics } from './metrics/metrics.ts';
import { startMetricsServer } from './metrics/server.ts';
import { closeLogger, createLogger, type Logger } from './observability/logger.ts';
import { bindErrorCode, ListenError } from './listen-error.ts';
import { SocketPathError } from './extproc/unix-socket.ts';
import { startAdminRuntime, type AdminRuntime } from './admin/runtime.ts';
import { applyStateSettings, createStateStore, stateConfigFrom, stateLogFields, type StateStore } from './state/index.ts';
import { createPolicies, type Policies } from './policy/index.ts';
import { createTargetHealth, targetKeysOf, type GatewayHealth } from './routing/health/fleet/create.ts';
import { reportTransitions } from './routing/health/report.ts';
import { UpstreamAttempts } from './routing/health/upstream-attempts.ts';
import { ActiveProbes, probeTargetsOf } from './routing/health/probes/scheduler.ts';
import { ProbeGate } from './routing/health/probes/probe-gate.ts';
import { httpProbeSender } from './routing/health/probes/send.ts';
import { PriceRefresher } from './pricing/refresh.ts';
import { SpendRecorder } from './observability/spend-recorder.ts';
import { RecentRequests, teeRequestLines } from './observability/recent-requests.ts';
import { requestLogFile } from './observability/log-file.ts';
import { resolveTracing } from './tracing/config.ts';
import { setTracing, tracing, TRACING_OFF } from './tracing/hooks.ts';
import { startTracing } from './tracing/start.ts';
import { startOnlyChanges } from './config/start-only.ts';
import { contentTeamsWithoutKeys } from './observability/config.ts';

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
    /** Target health; stop() ends its fleet sync and Redis connection. */
    private readonly health: GatewayHealth,
    /** The price table's refresh (gateway.yaml `pricing.source`): its status for the dashboard and metrics. */
    readonly prices: PriceRefresher,
    /** The spend history's batch; stop() writes what is left before the state store closes. */
    readonly spendHistory: SpendRecorder,
  ) {}

  static async start(opts: GatewayOptions): Promise<Gateway> {
    const configs = new ConfigStore(opts.configFile, opts.env ?? process.env);
    // gateway.yaml `observability.requestLog.file`: every line also to a rotating file (read at start).
    const logger = opts.logger ?? createLogger(undefined, undefined, requestLogFile(configs.current.observability.requestLog.file));
    // The dashboard's *Recent requests*: this replica's last request lines, kept as they are logged.
    const recent = new RecentRequests(200);
    const metrics = new GatewayMetrics();
    const registry = new ExchangeRegistry(50_000, 30 * 60_000);
    const cfg = configs.current;
    const env = opts.env ?? process.env;
    // OpenTelemetry spans (src/tracing/) when observability.tracing or OTEL_EXPORTER_OTLP_* names a
    // receiver; else TRACING_OFF and no OpenTelemetry module is loaded. Before the policy steps, which it wraps.
    const tracer = await startTracing(resolveTracing(cfg.observability.tracing, env), logger, FILTER_METADATA_KEY);
    setTracing(tracer);
    // Content capture for a team no gateway.yaml key has: a typo, or a team admin-created keys bring later.
    const warnContentTeams = (c: typeof cfg): void => {
      const teams = contentTeamsWithoutKeys(c.observability, c.keys.keys.map((k) => k.team));
      if (teams.length > 0) logger.warn({ teams }, `observability.requestLog.content.teams names ${teams.join(', ')}, which no gateway.yaml key belongs to; only keys created through the admin API can log content for them`);
    };
    warnContentTeams(cfg);
    const ownsState = opts.state === undefined;
    const state = opts.state ?? (await createStateStore(stateConfigFrom(cfg.state, env), env));
    let stateSettings = cfg.state;
    // Scrape-time gauges (model SLAs, team budgets, Redis health) read the live config and the state backend.
    metrics.sources = { config: () => configs.current, state };
    // Target health (src/routing/health/): answers from the request path, failed attempts from
    // Envoy's upstream log; breaker changes are logged and counted. Reconfigured on reload.
    // Shared by the fleet over Redis when REDIS_URL is set (health/fleet/), else per process.
    const health = createTargetHealth({ config: cfg.routingHealth, onTransition: reportTransitions(logger, metrics), env, redis: cfg.state.redis, log: logger });
    health.track(targetKeysOf(cfg));
    // Every failed start below goes through here: the health's Redis connection and timer end too.
    const closeState = async (): Promise<void> => {
      await health.close();
      if (ownsState) await state.close();
    };
    // The price table: refreshed from pricing.source (started below, once nothing can fail),
    // each success rebuilding the config on the new catalogue.
    const prices = new PriceRefresher({
      rebuild: () => configs.rebuild(),
      log: logger,
      onResult: (ok, atMs) => metrics.priceRefreshed(ok ? 'ok' : 'failed', atMs),
      onTable: (atMs) => metrics.priceTableInstalled(atMs),
    });
    const admin = await startAdminRuntime({
      configs,
      logger,
      env,
      state,
      // POST /admin/routing/explain reads the same health the request path does.
      health: () => health,
      priceStatus: () => prices.status(),
      dashboard: { registry: metrics.registry, recent },
      ...(opts.adminListen ? { listen: opts.adminListen } : {}),
    }).catch(async (err: unknown) => {
      registry.close();
      await closeState();
      throw err;
    });
    const policies = createPolicies({ store: state, logger, metrics, health: () => health });
    // Late upstream-log entries find their request: in flight, held for Envoy's account, or just finished.
    let held: EnvoyOutcomes | undefined;
    const upstreamAttempts = new UpstreamAttempts({ health, metrics, lookup: (id) => registry.get(id) ?? held?.heldExchange(id) });
    // Active probes of idle targets (routing.health.probes, off by default), sent through this gateway's Envoy listener.
    const probeGate = new ProbeGate();
    const probeUrl = env.GATEWAY_PROBE_URL;
    const probes = new ActiveProbes({
      health,
      send: probeUrl ? httpProbeSender(probeUrl, probeGate) : async () => 'unreachable',
      onOutcome: (t, outcome) => metrics.healthProbes.inc({ target: t.key, outcome }),
    });
    const configureProbes = (c: typeof cfg): void => {
      if (c.routingHealth.probes && !probeUrl) logger.warn('routing.health.probes is set but GATEWAY_PROBE_URL (the gateway\'s Envoy listener) is not: no probes are sent');
      probes.configure(probeUrl ? c.routingHealth.probes : undefined, probeTargetsOf(c));
    };
    // Hourly spend per team, provider and model into the state backend (GET /admin/spend), batched each second.
    const spendHistory = new SpendRecorder({ store: state, keepMs: () => configs.current.observability.spendHistory.keepDays * 86_400_000, log: logger });
    const sinks = { logger: teeRequestLines(logger, recent), metrics, policies: policies.pipeline, health, upstreamAttempts, probeGate, spendHistory };
    // Envoy's access log (envoy.yaml `access_log`) tells the log what Envoy answered itself.
    const outcomes = new EnvoyOutcomes(sinks, { inFlight: (id) => registry.get(id) !== undefined });
    held = outcomes;
    const accessLog = new AccessLogService({
      onReply: (reply) => outcomes.onReply(reply),
      onAttempt: (attempt) => upstreamAttempts.onAttempt(attempt),
      onError: (err) => logger.warn({ err }, 'Envoy access log entry dropped'),
    });
    const extproc = new ExtProcServer(tracer.wrapFactory(createProcessorFactory(configs, registry, { ...sinks, outcomes }, admin.stateKeys)), {
      listen: opts.listen ?? cfg.listen,
      // Bodies travel inside one gRPC message; leave room for framing and headers.
      maxMessageBytes: cfg.maxBodyBytes * 2 + 1024 * 1024,
      onStreamError: (err) => logger.error({ err }, 'ext_proc stream failed'),
      onStaleSocketRemoved: (path) => logger.warn({ socket: path }, 'removed a stale ext_proc socket file (nothing listened on it)'),
      services: [accessLog],
    });
    const listen = opts.listen ?? cfg.listen;
    const port = await extproc.start().catch(async (err: unknown) => {
      await admin.stop();
      await policies.close();
      await closeState();
      if (err instanceof SocketPathError) throw new ListenError('extproc', listen, err.code, err.message);
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
          health.track(targetKeysOf(c));
          void prices.configure(c.priceSource);
          configureProbes(c);
          if (ownsState) {
            // The command timeout reaches the live client; the rest waits for a restart (not refused).
            const { needRestart } = applyStateSettings(state, stateSettings, c.state);
            // What the store runs with: the new command timeout, the start's other settings.
            stateSettings = { redis: { ...stateSettings.redis, commandTimeoutMs: c.state.redis.commandTimeoutMs } };
            if (needRestart.length > 0) logger.warn({ fields: needRestart }, `${needRestart.join(', ')} changed; the state backend keeps the old value until the gateway restarts`);
          }
          // Settings read at start keep their start value: said at each reload that changes them.
          const waiting = startOnlyChanges(cfg, c, { listen: opts.listen !== undefined, metricsListen: opts.metricsListen !== undefined, adminListen: opts.adminListen !== undefined });
          if (waiting.length > 0) logger.warn({ fields: waiting }, `${waiting.join(', ')} changed; read only at start, the change applies after a restart`);
          warnContentTeams(c);
          logger.info({ config: c.source, version: c.version, models: c.models.size }, 'config reloaded');
        },
        onRejected: (err) => {
          metrics.configReloads.inc({ result: 'rejected' });
          logger.error({ error: err instanceof ConfigError ? err.message : String(err) }, 'config change refused; the last good config keeps serving');
        },
      });
    }
    logger.info(
      { ...(port ? { extproc_port: port } : { extproc_listen: listen }), config: cfg.source, models: [...cfg.models.keys()], ...stateLogFields(state), ...(admin.port ? { admin_port: admin.port } : {}) },
      'gateway ready',
    );
    // Serving anyway (each policy applies its onStateError until the backend answers), but a
    // wrong password or unreachable sentinels must not look like a healthy start.
    const stateDown = state.isReady() ? undefined : state.notReadyReason?.();
    if (stateDown) logger.warn({ state: state.backend, reason: stateDown }, 'state backend not reachable at start; limits and budgets apply their onStateError until it answers');
    // Last: nothing below can fail, so a failed start leaves no probe timer behind.
    configureProbes(cfg);
    // The first refresh is awaited (bounded by its timeoutMs), so a gateway that answers serves
    // current prices; a failed one leaves the bundled catalogue in force.
    await prices.configure(cfg.priceSource);
    const markNotServing = (): void => {
      serving = false;
      probes.stop();
      prices.stop();
    };
    return new Gateway(configs, extproc, registry, metrics, logger, outcomes, metricsServer, markNotServing, admin, state, policies, ownsState, health, prices, spendHistory);
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
    await this.health.close();
    await this.spendHistory.close();
    // After every settlement: the embedded store commits pending spend as it closes.
    if (this.ownsState) await this.state.close();
    await new Promise<void>((resolve) => (this.metricsServer ? this.metricsServer.close(() => resolve()) : resolve()));
    // The spans of the requests settled above are flushed to the receiver.
    await tracing().shutdown();
    setTracing(TRACING_OFF);
    await closeLogger(this.logger);
  }
}
