import { z } from 'zod';
import { strictObject } from '../../../config/strict-object.ts';

/**
 * gateway.yaml `routing.health.probes`: optional active probes (issue 9, item 7), off when absent.
 * Every `intervalMs`, each target with no recorded attempt for longer than that gets one cheap
 * request through the gateway's own Envoy listener (scheduler.ts), so idle targets' health
 * figures stay measured. Each probe is a real, billed request to the provider: at most one per
 * idle target per interval, none for a target real traffic keeps measured.
 *
 * ```yaml
 * routing:
 *   health:
 *     probes:
 *       intervalMs: 60000   # probe a target idle for longer than this, ms (at least 1000)
 *       maxTokens: 1        # the probe's max_tokens
 *       prompt: "ping"      # the probe's one user message
 *       stream: false       # true: judged by time to first token, as streams are
 * ```
 */
export const probesSchema = strictObject({
  /** A target with no recorded attempt for longer than this is probed, ms; also the scheduler's period. */
  intervalMs: z.number({ error: 'intervalMs: a number of milliseconds' }).int('intervalMs: whole milliseconds').min(1000, 'intervalMs: at least 1000 ms').max(86_400_000, 'intervalMs: at most a day (86400000 ms)'),
  /** The probe request's `max_tokens` (output tokens the provider may bill). */
  maxTokens: z.number({ error: 'maxTokens: a whole number of tokens' }).int('maxTokens: a whole number of tokens').min(1, 'maxTokens: at least 1').max(64, 'maxTokens: at most 64 (a probe is meant to be cheap)').default(1),
  /** The probe's one user message (input tokens the provider bills: keep it short). */
  prompt: z.string({ error: 'prompt: a string' }).min(1, 'prompt: not empty').max(200, 'prompt: at most 200 characters (a probe is meant to be cheap)').default('ping'),
  /** Whether the probe streams (its health sample is then time to first token, as for caller streams). */
  stream: z.boolean({ error: 'stream: true or false' }).default(false),
});
export type ProbesConfig = z.infer<typeof probesSchema>;
