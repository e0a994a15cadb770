import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultHealthConfig, healthSchema } from '../../../src/routing/health/breaker-schema.ts';

function problem(input: unknown): [string, string] {
  const r = healthSchema.safeParse(input);
  assert.equal(r.success, false, JSON.stringify(input));
  const issue = r.error!.issues[0]!;
  return [issue.path.join('.'), issue.message];
}

describe('health settings (breaker-schema.ts)', () => {
  it('defaults are the issue\'s', () => {
    assert.deepEqual(defaultHealthConfig(), {
      breaker: {
        latency: { thresholdMs: 10_000, consecutive: 3, openMs: 300_000 },
        errors: { rate: 0.05, windowMs: 300_000, minRequests: 20, openMs: 300_000 },
        probeTimeoutMs: 120_000,
      },
      rateLimited: { cooldownMs: 1_000, maxCooldownMs: 300_000, maxWaitMs: 2_000 },
      latencyHalfLifeMs: 30_000,
    });
  });

  it('any field can be overridden alone', () => {
    const c = healthSchema.parse({ breaker: { errors: { minRequests: 5 } } });
    assert.equal(c.breaker.errors.minRequests, 5);
    assert.equal(c.breaker.errors.rate, 0.05);
    assert.equal(c.breaker.latency.thresholdMs, 10_000);
  });

  it('precise messages for bad values and typos', () => {
    assert.deepEqual(problem({ breaker: { latency: { threshold: 5 } } }), ['breaker.latency', 'unknown key(s) "threshold" (expected: thresholdMs, consecutive, openMs)']);
    assert.deepEqual(problem({ breaker: { errors: { rate: 5 } } }), ['breaker.errors.rate', 'rate: below 1 (a share, e.g. 0.05 for 5 %)']);
    assert.deepEqual(problem({ breaker: { errors: { rate: 0 } } }), ['breaker.errors.rate', 'rate: above 0 (0 would open on any error)']);
    assert.deepEqual(problem({ breaker: { latency: { thresholdMs: 1.5 } } }), ['breaker.latency.thresholdMs', 'thresholdMs: whole milliseconds']);
    assert.deepEqual(problem({ breaker: { errors: { windowMs: 1_000 } } }), ['breaker.errors.windowMs', 'windowMs: at least 30000 ms (30 sub-windows of 1 s)']);
    assert.deepEqual(problem({ breaker: { probeTimeoutMs: '2s' } }), ['breaker.probeTimeoutMs', 'probeTimeoutMs: a number of milliseconds']);
    assert.deepEqual(problem({ rateLimited: { cooldownMs: 10_000, maxCooldownMs: 5_000 } }), ['rateLimited.maxCooldownMs', 'maxCooldownMs must be at least cooldownMs']);
    assert.deepEqual(problem({ breakers: {} }), ['', 'unknown key(s) "breakers" (expected: breaker, rateLimited, latencyHalfLifeMs, probes)']);
  });
});
