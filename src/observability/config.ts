import { z } from 'zod';
import { strictObject } from '../config/strict-object.ts';
import { tracingSchema } from '../tracing/config.ts';

/** A team name as keys-schema.ts allows it. */
const team = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'a team name (letters, digits, . _ -)');

/**
 * gateway.yaml `observability:` (README, Operations, Request logs and Spend history):
 *
 * ```yaml
 * observability:
 *   requestLog:
 *     file: { path: /var/log/llmx/gateway.log, maxBytes: 104857600, maxFiles: 10 }
 *     content: { teams: [support], maxChars: 4096 }
 *   spendHistory: { keepDays: 35 }
 * ```
 */
export const observabilitySchema = strictObject({
  requestLog: strictObject({
    /**
     * Also write every log line (the request lines among them) to this file, rotated at
     * `maxBytes` (bytes) with `maxFiles` rotated files kept (`<path>.1` newest … `<path>.<maxFiles>`).
     * Read at start: a change waits for a restart. Absent: stdout only.
     */
    file: strictObject({
      path: z.string().min(1),
      maxBytes: z.number().int().min(1024).max(1024 ** 4).default(100 * 1024 * 1024),
      maxFiles: z.number().int().min(1).max(1000).default(10),
    }).optional(),
    /** Prompts and completions on the request line, only for these teams (default none), each cut to maxChars characters. */
    content: strictObject({
      teams: z.array(team).max(1000).default([]),
      maxChars: z.number().int().min(1).max(1_000_000).default(4096),
    }).prefault({}),
  }).prefault({}),
  /** OpenTelemetry spans over OTLP (src/tracing/config.ts); absent, and no OTEL_EXPORTER_OTLP_* endpoint: off. */
  tracing: tracingSchema.optional(),
  /** Hourly spend buckets in the state backend (GET /admin/spend), kept this many days after their hour. */
  spendHistory: strictObject({ keepDays: z.number().int().min(1).max(400).default(35) }).prefault({}),
}).prefault({});

export type ObservabilitySettings = z.infer<typeof observabilitySchema>;

/**
 * `observability.requestLog.content.teams` entries that no gateway.yaml key belongs to (`keysTeams`:
 * the teams of gateway.yaml's `keys:`), in the order written. Not a config error: a key created
 * through the admin API may bring the team later; the gateway logs them as a warning at load.
 */
export function contentTeamsWithoutKeys(settings: ObservabilitySettings, keysTeams: Iterable<string>): string[] {
  const known = new Set(keysTeams);
  return settings.requestLog.content.teams.filter((t) => !known.has(t));
}
