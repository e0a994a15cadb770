import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startSimProvider, type Fault, type SimFormat } from './index.ts';

const USAGE =
  'usage: node --import tsx src/simulator/main.ts --format openai|anthropic|gemini [--host H] [--port N] ' +
  '[--tls-cert F --tls-key F] [--api-key K] [--base-path P] [--latency-ms N] [--chunks N] [--chunk-delay-ms N]';

const FORMATS: readonly SimFormat[] = ['openai', 'anthropic', 'gemini'];

function intOption(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${raw}`);
  return n;
}

function isFormat(v: string | undefined): v is SimFormat {
  return FORMATS.some((f) => f === v);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      format: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'api-key': { type: 'string' },
      'base-path': { type: 'string' },
      'latency-ms': { type: 'string' },
      chunks: { type: 'string' },
      'chunk-delay-ms': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!isFormat(values.format)) throw new Error(`--format must be one of ${FORMATS.join(', ')}`);
  const certFile = values['tls-cert'];
  const keyFile = values['tls-key'];
  if ((certFile === undefined) !== (keyFile === undefined)) throw new Error('--tls-cert and --tls-key go together');
  const fault: Fault = {};
  const latencyMs = intOption('latency-ms', values['latency-ms']);
  const chunks = intOption('chunks', values.chunks);
  const chunkDelayMs = intOption('chunk-delay-ms', values['chunk-delay-ms']);
  if (latencyMs !== undefined) fault.latencyMs = latencyMs;
  if (chunks !== undefined) fault.chunks = chunks;
  if (chunkDelayMs !== undefined) fault.chunkDelayMs = chunkDelayMs;
  const sim = await startSimProvider({
    format: values.format,
    host: values.host,
    port: intOption('port', values.port) ?? 0,
    tls: certFile !== undefined && keyFile !== undefined ? { cert: readFileSync(certFile), key: readFileSync(keyFile) } : undefined,
    apiKey: values['api-key'],
    basePath: values['base-path'],
    defaultFault: Object.keys(fault).length > 0 ? fault : undefined,
    recordRequests: false,
  });
  process.stdout.write(`${sim.url}\n`);
  const stop = (): void => {
    sim.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`close failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
  process.exit(2);
});
