import { parseArgs } from 'node:util';
import { ConfigError } from './config/errors.ts';
import { Gateway } from './gateway.ts';
import { ListenError } from './listen-error.ts';
import { ListenAddressError, parseListenAddress } from './extproc/listen-address.ts';
import { RedisUrlError } from './state/redis/connect.ts';

const USAGE = 'options: --config FILE (or $GATEWAY_CONFIG), --listen HOST:PORT|unix:/PATH.sock, --metrics-listen HOST:PORT, --admin-listen HOST:PORT';

/** The ext_proc service alone (Envoy runs beside it): wiring and signal handling only. */
let values: { config?: string; listen?: string; 'metrics-listen'?: string; 'admin-listen'?: string; help?: boolean };
try {
  ({ values } = parseArgs({
    options: {
      config: { type: 'string', default: process.env.GATEWAY_CONFIG ?? 'config/gateway.yaml' },
      listen: { type: 'string' },
      'metrics-listen': { type: 'string' },
      'admin-listen': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  }));
  if (values.listen) parseListenAddress(values.listen, '--listen');
} catch (err) {
  // A wrong command line is one line, not a stack trace.
  const line = err instanceof ListenAddressError ? err.message : err instanceof Error ? err.message.split('. ')[0] : String(err);
  process.stderr.write(`${line}; ${USAGE}\n`);
  process.exit(2);
}
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

try {
  const gateway = await Gateway.start({
    configFile: values.config!,
    ...(values.listen ? { listen: values.listen } : {}),
    ...(values['metrics-listen'] !== undefined ? { metricsListen: values['metrics-listen'] } : {}),
    ...(values['admin-listen'] ? { adminListen: values['admin-listen'] } : {}),
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
  // A REDIS_URL that cannot be used: one line, no stack (the message never holds the password).
  if (err instanceof RedisUrlError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  // A port already taken is an operator's problem, not a crash: one line that names the setting, no stack.
  // server.listen that is not an address (the config schema checks it too).
  if (err instanceof ListenAddressError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  if (err instanceof ListenError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  throw err;
}
