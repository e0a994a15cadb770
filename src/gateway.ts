import type { Server } from 'node:http';
import { ConfigStore } from './config/store.ts';
import { ConfigError } from './config/errors.ts';
import { createProcessorFactory } from './exchange/processor-factory.ts';
import { ExchangeRegistry } from './exchange/registry.ts';
import { ExtProcServer } from './extproc/server.ts';
import { GatewayMetrics } from './metrics/metrics.ts';
import { startMetricsServer } from './metrics/server.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import { bindErrorCode, ListenError } from './listen-error.ts';

export interface GatewayOptions {
  configFile: string;
  env?: NodeJS.ProcessEnv;
  /** Overrides server.listen from the config (tests use port 0). */
  listen?: string;
  metricsListen?: string;
  logger?: Logger;
  watchConfig?: boolean;
}

/** The ext_proc service: config, state registry, gRPC server and metrics, wired together. */
export class Gateway {
  private constructor(
    readonly configs: ConfigStore,
    readonly extproc: ExtProcServer,
    readonly registry: ExchangeRegistry,
    readonly metrics: GatewayMetrics,
    readonly logger: Logger,
    private readonly metricsServer: Server | undefined,
    private readonly markNotServing: () => void,
  ) {}

  static async start(opts: GatewayOptions): Promise<Gateway> {
    const logger = opts.logger ?? createLogger();
    const configs = new ConfigStore(opts.configFile, opts.env ?? process.env);
    const metrics = new GatewayMetrics();
    const registry = new ExchangeRegistry(50_000, 30 * 60_000);
    const cfg = configs.current;
    const extproc = new ExtProcServer(createProcessorFactory(configs, registry, { logger, metrics }), {
      listen: opts.listen ?? cfg.listen,
      // Bodies travel inside one gRPC message; leave room for framing and headers.
      maxMessageBytes: cfg.maxBodyBytes * 2 + 1024 * 1024,
      onStreamError: (err) => logger.error({ err }, 'ext_proc stream failed'),
    });
    const listen = opts.listen ?? cfg.listen;
    const port = await extproc.start().catch((err: unknown) => {
      const code = bindErrorCode(err);
      throw code ? new ListenError('extproc', listen, code) : err;
    });
    const metricsListen = opts.metricsListen ?? cfg.metricsListen;
    // /healthz answers 200 only while the gRPC server is serving (false again once stop() begins).
    let serving = true;
    const metricsServer = await startMetricsServer(metricsListen, metrics, () => serving).catch(async (err: unknown) => {
      await extproc.stop(0);
      registry.close();
      const code = bindErrorCode(err);
      throw code ? new ListenError('metrics', metricsListen, code) : err;
    });
    if (opts.watchConfig !== false) {
      configs.watch({
        onReload: (c) => {
          metrics.configReloads.inc({ result: 'applied' });
          logger.info({ config: c.source, version: c.version, models: c.models.size }, 'config reloaded');
        },
        onRejected: (err) => {
          metrics.configReloads.inc({ result: 'rejected' });
          logger.error({ error: err instanceof ConfigError ? err.message : String(err) }, 'config change refused; the last good config keeps serving');
        },
      });
    }
    logger.info({ extproc_port: port, config: cfg.source, models: [...cfg.models.keys()] }, 'gateway ready');
    return new Gateway(configs, extproc, registry, metrics, logger, metricsServer, () => (serving = false));
  }

  get port(): number {
    return this.extproc.port;
  }

  async stop(): Promise<void> {
    this.markNotServing();
    this.configs.close();
    await this.extproc.stop(2000);
    this.registry.close();
    await new Promise<void>((resolve) => (this.metricsServer ? this.metricsServer.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => this.logger.flush(() => resolve()));
  }
}
