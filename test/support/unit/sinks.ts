import { pino } from 'pino';
import type { ExchangeSinks } from '../../../src/exchange/finish.ts';
import { GatewayMetrics } from '../../../src/metrics/metrics.ts';

export interface MemorySinks {
  sinks: ExchangeSinks;
  /** Every line written so far, raw. */
  raw: string[];
  /** Every line parsed as JSON. */
  lines(): Array<Record<string, unknown>>;
}

/** A pino logger writing into memory, and a fresh metrics registry. */
export function memorySinks(): MemorySinks {
  const raw: string[] = [];
  const logger = pino({ level: 'debug', base: { service: 'llm-extproc' } }, { write: (line: string) => void raw.push(line) });
  return {
    sinks: { logger, metrics: new GatewayMetrics() },
    raw,
    lines: () => raw.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}
