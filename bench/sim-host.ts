import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startSimProvider, type SimFormat } from '../src/simulator/index.ts';

/**
 * One simulated provider for the benchmark, in its own process (so its CPU is not charged to
 * the load generator or the gateway): a TLS listener (HTTP/2, what Envoy's provider clusters
 * use) and a plaintext HTTP/1.1 listener (the "provider directly" path), same format, same key.
 * The profile comes with each request in `x-sim-fault`. Prints {"tlsPort":N,"plainPort":N}.
 */
const { values } = parseArgs({
  options: {
    format: { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'api-key': { type: 'string' },
  },
});
const format = values.format as SimFormat;
const tls = { cert: readFileSync(values['tls-cert']!), key: readFileSync(values['tls-key']!) };
const common = { format, apiKey: values['api-key'], recordRequests: false } as const;
const secure = await startSimProvider({ ...common, tls });
const plain = await startSimProvider({ ...common });
process.stdout.write(`${JSON.stringify({ tlsPort: secure.port, plainPort: plain.port })}\n`);
const stop = (): void => {
  void Promise.all([secure.close(), plain.close()]).finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
