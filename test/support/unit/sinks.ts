import type { ExchangeSinks } from '../../../src/exchange/finish.ts';
import { GatewayMetrics } from '../../../src/metrics/metrics.ts';
import { createLogger } from '../../../src/observability/logger.ts';

export interface MemorySinks {
  sinks: ExchangeSinks;
  /** Every line written so far, raw. */
  raw: string[];
  /** Every line parsed as JSON. */
  lines(): Array<Record<string, unknown>>;
}

/** The gateway's logger (same options and serializers) writing into memory, and a fresh metrics registry. */
export function memorySinks(): MemorySinks {
  const raw: string[] = [];
  const logger = createLogger('debug', { write: (line: string) => void raw.push(line) });
  return {
    sinks: { logger, metrics: new GatewayMetrics() },
    raw,
    lines: () => raw.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}
