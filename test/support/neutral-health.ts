import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';

const PROJECT = path.resolve(import.meta.dirname, '../..');

/**
 * Target health that never reroutes (src/routing/health/): no latency or error breaker can open
 * (the largest threshold and volume the schema allows) and a provider 429 cools its target down
 * for at most 1 ms. For end-to-end tests of other things that inject faults into a shared stack:
 * with the real defaults, one test's 429 (a 3 s `retry-after`) or a run of 5xx would send the
 * next test's request past the provider it expects. test/e2e/health.e2e.test.ts tests health
 * with real settings.
 */
export const NEUTRAL_HEALTH = {
  breaker: { latency: { thresholdMs: 86_400_000 }, errors: { minRequests: 1_000_000 } },
  rateLimited: { cooldownMs: 1, maxCooldownMs: 1 },
} as const;

/** Writes `source` (default the demo config/gateway.yaml) to `dir`/gateway.neutral-health.yaml with NEUTRAL_HEALTH; its path. */
export function withNeutralHealth(dir: string, source: string = path.join(PROJECT, 'config/gateway.yaml')): string {
  const doc = (parse(readFileSync(source, 'utf8')) ?? {}) as Record<string, unknown>;
  const routing = (doc['routing'] ?? {}) as Record<string, unknown>;
  doc['routing'] = { ...routing, health: NEUTRAL_HEALTH };
  const file = path.join(dir, 'gateway.neutral-health.yaml');
  writeFileSync(file, stringify(doc));
  return file;
}
