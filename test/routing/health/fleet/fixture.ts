import assert from 'node:assert/strict';
import type { BreakerTransition } from '../../../../src/routing/health/breaker.ts';
import { healthSchema } from '../../../../src/routing/health/breaker-schema.ts';
import { FleetHealth } from '../../../../src/routing/health/fleet/fleet-health.ts';
import type { AttemptOutcome, AttemptResult } from '../../../../src/routing/health/outcome.ts';

/** Short periods: a 30 s window (1 s sub-windows), open 5 s, at least 6 attempts for the error rule. */
export const CONFIG = healthSchema.parse({
  breaker: {
    latency: { thresholdMs: 1000, consecutive: 3, openMs: 5000 },
    errors: { rate: 0.5, windowMs: 30_000, minRequests: 6, openMs: 5000 },
    probeTimeoutMs: 10_000,
  },
  rateLimited: { cooldownMs: 1000, maxCooldownMs: 60_000 },
});
const SUB_MS = 1000;
export const KEY = 'openai/gpt-4o-mini';

/** One FleetHealth standing for a replica, and what it reported. */
export interface Replica {
  h: FleetHealth;
  transitions: BreakerTransition[];
  warns: string[];
  infos: string[];
}

let prefixCounter = 0;

/**
 * `n` replicas on `url`, on a key prefix of their own (`t<k>:`), sharing a fake clock near real
 * time (so Redis TTLs stay sane). The 1 s timer is kept out of the way: tests call syncNow().
 * Every instance is pushed to `open` for the test's cleanup.
 */
export function fleet(url: string, n: number, open: FleetHealth[]): { replicas: Replica[]; clock: { now: number }; keyPrefix: string } {
  const clock = { now: Math.floor(Date.now() / SUB_MS) * SUB_MS + 100 };
  const keyPrefix = `t${++prefixCounter}:`;
  const replicas = Array.from({ length: n }, (): Replica => {
    const transitions: BreakerTransition[] = [];
    const warns: string[] = [];
    const infos: string[] = [];
    const h = new FleetHealth({
      url,
      redis: { keyPrefix, commandTimeoutMs: 500, connectTimeoutMs: 1000 },
      config: CONFIG,
      onTransition: (t) => transitions.push(t),
      log: { warn: (_o, msg) => warns.push(msg), info: (_o, msg) => infos.push(msg) },
      syncIntervalMs: 3_600_000,
      staleAfterMs: 3000,
      now: () => clock.now,
    });
    open.push(h);
    return { h, transitions, warns, infos };
  });
  return { replicas, clock, keyPrefix };
}

export const outcome = (key: string, atMs: number, result: AttemptResult, totalMs = 100, extra: Partial<AttemptOutcome> = {}): AttemptOutcome => ({ key, stream: false, atMs, totalMs, result, ...extra });

/** Transitions as `from>to:reason:source`. */
export const steps = (ts: readonly BreakerTransition[]): string[] => ts.map((t) => `${t.from}>${t.to}:${t.reason}:${t.source ?? '-'}`);

/** Tracks `key` on every replica and syncs until each reads the fleet (ioredis connects in the background). */
export async function connected(replicas: readonly Replica[], key: string, clock: { now: number }, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const r of replicas) {
    r.h.get(key, clock.now);
    while (!r.h.isShared(key)) {
      assert.ok(Date.now() < deadline, 'the replicas reach Redis');
      await r.h.syncNow();
      if (!r.h.isShared(key)) await new Promise((res) => setTimeout(res, 20));
    }
  }
}

/** Syncs each replica in turn (one timer tick each, in this order). */
export async function syncAll(...replicas: Replica[]): Promise<void> {
  for (const r of replicas) await r.h.syncNow();
}
