import { parseArgs } from 'node:util';
import { ConfigError } from './config/errors.ts';
import { Gateway } from './gateway.ts';

/** The ext_proc service alone (Envoy runs beside it): wiring and signal handling only. */
const { values } = parseArgs({
  options: {
    config: { type: 'string', default: process.env.GATEWAY_CONFIG ?? 'config/gateway.yaml' },
    listen: { type: 'string' },
    'metrics-listen': { type: 'string' },
  },
});

try {
  const gateway = await Gateway.start({
    configFile: values.config!,
    ...(values.listen ? { listen: values.listen } : {}),
    ...(values['metrics-listen'] !== undefined ? { metricsListen: values['metrics-listen'] } : {}),
  });
  const shutdown = (): void => {
    void gateway.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  // Started by `npm start` or the tests with an IPC channel: leave when the parent is gone.
  if (process.send) process.once('disconnect', shutdown);
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`config error: ${err.message}\n`);
    process.exit(2);
  }
  // A port already taken is an operator's problem, not a crash: one line, no stack.
  if (err instanceof Error && /EADDRINUSE/.test(err.message)) {
    process.stderr.write(`cannot listen: address already in use (${err.message.replace(/^.*EADDRINUSE: /s, '').replace(/\]$/, '')})\n`);
    process.exit(1);
  }
  throw err;
}
