import { describeExit } from './child.ts';
import { createLineFormatter } from './log-format.ts';
import { chooseDemoKey, HELP, parseStartOptions, PORT_FLAGS, UsageError, type StartOptions } from './options.ts';
import { PortInUseError } from './ports.ts';
import { demoSupportKey, startStack, type Stack } from './stack.ts';

/**
 * `npm start`: Envoy + the ext_proc service + the simulated providers on embedded defaults
 * (`--help` lists the options). Whatever stops it from starting is one line on stderr, no
 * stack trace: exit 2 for a bad command line, 1 for anything else.
 */
function fail(line: string, code: number): never {
  process.stderr.write(`npm start: ${line}\n`);
  process.exit(code);
}

let opts: StartOptions;
try {
  opts = parseStartOptions(process.argv.slice(2));
} catch (err) {
  if (err instanceof UsageError) fail(`${err.message} (see npm start -- --help)`, 2);
  throw err;
}
if (opts.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

const pretty = opts.logFormat === 'pretty' || (opts.logFormat === 'auto' && process.stdout.isTTY === true);
const format = pretty ? createLineFormatter(process.stdout.isTTY === true) : undefined;
const demoKey = chooseDemoKey(opts, process.env);

let stack: Stack;
try {
  stack = await startStack({
    ...(opts.config ? { configFile: opts.config } : {}),
    ...(opts.envoyConfig ? { envoyTemplate: opts.envoyConfig } : {}),
    ...(opts.runDir ? { runDir: opts.runDir } : {}),
    httpPort: opts.httpPort,
    httpsPort: opts.httpsPort,
    metricsPort: opts.metricsPort,
    adminApiPort: opts.adminApiPort,
    adminPort: opts.adminPort,
    extprocPort: opts.extprocPort,
    ...(opts.extprocSocket ? { extprocSocket: opts.extprocSocket } : {}),
    simulators: opts.simulators,
    ...(demoKey ? { demoKey } : {}),
    ...(format ? { onExtprocLine: (line: string) => process.stdout.write(`${format(line)}\n`) } : {}),
    log: (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`),
  });
} catch (err) {
  if (err instanceof PortInUseError) {
    fail(`${err.message}; is another gateway running? Choose another port with ${PORT_FLAGS[err.listener]} N`, 1);
  }
  fail(err instanceof Error ? err.message.split('\n')[0]! : String(err), 1);
}

process.stderr.write(
  [
    '',
    'llm-extproc is up.',
    `  plaintext : ${stack.httpUrl}/v1        (sidecar listener)`,
    `  TLS 1.3   : ${stack.httpsUrl}/v1       (CA: ${stack.certs.caCert})`,
    `  metrics   : http://127.0.0.1:${stack.metricsPort}/metrics  (health: /healthz)`,
    `  envoy     : ${stack.adminUrl}  (admin, readiness: /ready)`,
    `  ext_proc  : ${stack.extprocTarget}  (gRPC, Envoy's target)`,
    // The demo config enables the admin key API (server.admin); another config may not.
    ...(opts.config ? [] : [`  admin API : ${stack.adminApiUrl}/admin/keys  (admin key: ${stack.adminApiKey})`]),
    ...(opts.config ? [] : [`  dashboard : ${stack.adminApiUrl}/admin/dashboard  (log in with the admin key)`]),
    `  demo key  : ${stack.demoKey}`,
    // The demo config's second team (config/gateway.yaml); another config has its own keys.
    ...(opts.config ? [] : [`  team key  : ${demoSupportKey(stack.demoKey)}  (team support: gpt-4o-mini, gemini-* only)`]),
    '',
    `  curl ${stack.httpUrl}/v1/chat/completions -H "Authorization: Bearer ${stack.demoKey}" \\`,
    `    -H 'content-type: application/json' -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello"}]}'`,
    '',
    'Ctrl-C stops everything.',
    '',
  ].join('\n'),
);

let stopping = false;
const shutdown = (code = 0): void => {
  if (stopping) return;
  stopping = true;
  void stack.stop().then(() => process.exit(code));
};
process.on('SIGINT', () => shutdown());
process.on('SIGTERM', () => shutdown());
// The ext_proc is supervised (restarted with back-off); Envoy is the data plane itself, so
// without it there is nothing to serve: stop everything, loudly.
void stack.envoy.exitStatus.then((st) => {
  if (!stopping) {
    process.stderr.write(`${new Date().toISOString()} envoy exited (${describeExit(st)}); stopping everything\n`);
    shutdown(1);
  }
});
