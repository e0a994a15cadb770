import { z } from 'zod';
import { strictObject } from '../../config/strict-object.ts';
import { probesSchema } from './probes/probes-schema.ts';

/**
 * Health and circuit-breaker settings for routing (issue 9), all optional with the field's
 * defaults: a latency breaker (10 s, 3 in a row, open 5 min; no open-source gateway has one),
 * an error breaker (5 % over 5 min with at least 20 attempts, open 5 min, as Envoy's outlier
 * detection and most gateways count failures), a half-open probe, and the cool-down after a
 * provider 429. The lead adds `healthSchema` to gateway.yaml; LocalHealth (local.ts) reads
 * the parsed `HealthConfig`.
 *
 * ```yaml
 * health:
 *   breaker:
 *     latency: { thresholdMs: 10000, consecutive: 3, openMs: 300000 }
 *     errors: { rate: 0.05, windowMs: 300000, minRequests: 20, openMs: 300000 }
 *     probeTimeoutMs: 120000
 *   rateLimited: { cooldownMs: 1000, maxCooldownMs: 300000, maxWaitMs: 2000 }
 *   latencyHalfLifeMs: 30000
 *   probes: { intervalMs: 60000 }   # optional, off when absent (probes/probes-schema.ts)
 * ```
 */

const ms = (what: string) => z.number({ error: `${what}: a number of milliseconds` }).int(`${what}: whole milliseconds`).min(1, `${what}: at least 1 ms`).max(86_400_000, `${what}: at most a day (86400000 ms)`);

export const latencyBreakerSchema = strictObject({
  /** An attempt slower than this is slow, ms (time to first token for streams, total time otherwise). */
  thresholdMs: ms('thresholdMs').default(10_000),
  /** Slow attempts in a row that open the breaker; a fast answer resets the run. */
  consecutive: z.number().int('consecutive: a whole number').min(1, 'consecutive: at least 1').max(1000, 'consecutive: at most 1000').default(3),
  /** How long it stays open before a probe may pass, ms. */
  openMs: ms('openMs').default(300_000),
}).prefault({});

export const errorBreakerSchema = strictObject({
  /** Opens when the share of failed attempts (5xx, timeouts, resets) in the window exceeds this, 0..1. */
  rate: z.number({ error: 'rate: a share between 0 and 1, e.g. 0.05 for 5 %' }).gt(0, 'rate: above 0 (0 would open on any error)').lt(1, 'rate: below 1 (a share, e.g. 0.05 for 5 %)').default(0.05),
  /** The window, ms; also the health window of the p95 and error-rate figures. Cut into 30 sub-windows. */
  windowMs: ms('windowMs').min(30_000, 'windowMs: at least 30000 ms (30 sub-windows of 1 s)').default(300_000),
  /** Attempts the window needs before the rate can open the breaker. */
  minRequests: z.number().int('minRequests: a whole number').min(1, 'minRequests: at least 1').max(1_000_000, 'minRequests: at most 1000000').default(20),
  openMs: ms('openMs').default(300_000),
}).prefault({});

export const breakerSchema = strictObject({
  latency: latencyBreakerSchema,
  errors: errorBreakerSchema,
  /**
   * A half-open probe whose outcome is not recorded within this lets another caller probe, ms
   * (a lost probe must not wedge the breaker). Default: Envoy's per_try_timeout (envoy.yaml).
   */
  probeTimeoutMs: ms('probeTimeoutMs').default(120_000),
}).prefault({});
export type BreakerConfig = z.infer<typeof breakerSchema>;

export const rateLimitedSchema = strictObject({
  /** Cool-down after a 429 without `retry-after`, ms; doubles while 429s continue. */
  cooldownMs: ms('cooldownMs').default(1_000),
  /** Cap of any cool-down, ms, `retry-after` included (a bogus header cannot sideline a target for days). */
  maxCooldownMs: ms('maxCooldownMs').default(300_000),
  /**
   * When every target of a request is cooling down or at its provider limit, how long the
   * request may wait for the first to free (backoff with full jitter) before its 429, ms; 0:
   * answer the 429 at once. At most 4000: the wait holds the ext_proc's answer to Envoy's
   * request-body message, which envoy.yaml's `message_timeout: 5s` bounds (past it Envoy answers
   * 504 itself); the route's timeouts only start once the request goes upstream.
   */
  maxWaitMs: z.number({ error: 'maxWaitMs: a number of milliseconds' }).int('maxWaitMs: whole milliseconds').min(0, 'maxWaitMs: 0 or more').max(4000, "maxWaitMs: at most 4000 ms (the wait must end within envoy.yaml's ext_proc message_timeout of 5 s)").default(2000),
}).prefault({}).refine((c) => c.maxCooldownMs >= c.cooldownMs, { message: 'maxCooldownMs must be at least cooldownMs', path: ['maxCooldownMs'] });
export type RateLimitedConfig = z.infer<typeof rateLimitedSchema>;

export const healthSchema = strictObject({
  breaker: breakerSchema,
  rateLimited: rateLimitedSchema,
  /** Half-life of the decaying recent latency (`latencyMs` of a snapshot), ms. */
  latencyHalfLifeMs: ms('latencyHalfLifeMs').default(30_000),
  /** Active probes of idle targets (probes/probes-schema.ts); absent: off. */
  probes: probesSchema.optional(),
}).prefault({});
export type HealthConfig = z.infer<typeof healthSchema>;

/** The defaults, parsed. */
export const defaultHealthConfig = (): HealthConfig => healthSchema.parse(undefined);
