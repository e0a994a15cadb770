import { parseArgs } from 'node:util';
import { startStack } from './stack.ts';

/**
 * `npm start`: Envoy + the ext_proc service + the simulated providers on embedded defaults.
 * `npm start -- --config FILE --envoy-config FILE` runs your own files instead.
 */
const { values } = parseArgs({
  options: {
    config: { type: 'string' },
    'envoy-config': { type: 'string' },
    'http-port': { type: 'string', default: '8080' },
    'https-port': { type: 'string', default: '8443' },
    'metrics-port': { type: 'string', default: '9464' },
    'no-simulators': { type: 'boolean', default: false },
  },
});

const stack = await startStack({
  ...(values.config ? { configFile: values.config } : {}),
  ...(values['envoy-config'] ? { envoyTemplate: values['envoy-config'] } : {}),
  httpPort: Number(values['http-port']),
  httpsPort: Number(values['https-port']),
  metricsPort: Number(values['metrics-port']),
  simulators: !values['no-simulators'],
  ...(process.env.GATEWAY_DEMO_KEY ? { demoKey: process.env.GATEWAY_DEMO_KEY } : {}),
});

process.stderr.write(
  [
    '',
    'llm-extproc is up.',
    `  plaintext : ${stack.httpUrl}/v1        (sidecar listener)`,
    `  TLS 1.3   : ${stack.httpsUrl}/v1       (CA: ${stack.certs.caCert})`,
    `  metrics   : http://127.0.0.1:${stack.metricsPort}/metrics`,
    `  demo key  : ${stack.demoKey}`,
    '',
    `  curl ${stack.httpUrl}/v1/chat/completions -H "Authorization: Bearer ${stack.demoKey}" \\`,
    `    -H 'content-type: application/json' -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello"}]}'`,
    '',
    'Ctrl-C stops everything.',
    '',
  ].join('\n'),
);

let stopping = false;
const shutdown = (): void => {
  if (stopping) return;
  stopping = true;
  void stack.stop().then(() => process.exit(0));
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
void stack.envoy.exited.then((code) => {
  if (!stopping) {
    process.stderr.write(`envoy exited (code ${String(code)}); stopping\n`);
    shutdown();
  }
});
