import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { toOpenAIError } from '../../../src/errors/to-openai.ts';
import { compactExplanation } from '../../../src/routing/explain-header.ts';
import { ProviderCapacityError } from '../../../src/routing/limits/capacity-error.ts';
import { harness, limitsConfig, planKeys, T0 } from './fixture.ts';

const admitted = async (v: unknown): Promise<void> => {
  assert.deepEqual(await v, { kind: 'continue' });
};

describe('provider limits: a target at its limit leaves the order', () => {
  test('past a/x requestsPerMinute the next target takes its place, and the explanation says `limit` with the figures', async () => {
    const h = harness(limitsConfig({ a: { x: { requestsPerMinute: 2 } } }));
    for (let i = 0; i < 2; i++) {
      const ex = h.exchange();
      await admitted(h.step.admit(ex));
      assert.deepEqual(planKeys(ex), ['a/x', 'b/x'], `request ${i + 1} within the limit: the plan as routed`);
    }
    h.clock.t += 12_000;
    const ex = h.exchange();
    await admitted(h.step.admit(ex));
    assert.deepEqual(planKeys(ex), ['b/x'], 'a/x is out of the order: b/x is attempt 1');
    assert.equal(ex.plan!.headers['x-envoy-max-retries'], '0');
    const e = compactExplanation(ex.routing!);
    assert.deepEqual(e.candidates.map((c) => [c.attempt, c.target]), [[1, 'b/x']]);
    assert.equal(e.skipped.length, 1);
    assert.equal(e.skipped[0]!.target, 'a/x');
    assert.deepEqual(e.skipped[0]!.reasons, ['limit']);
    // Counted conservatively (src/state/sliding-window.ts): the first requests leave the window
    // 60 s after the end of their 6 s sub-window, 54 s from now.
    assert.equal(e.skipped[0]!.detail, 'rpm 2/2, resets in 54 s');
  });

  test('a token limit counts prompt estimate + max_tokens, and a request larger than it alone is skipped for good', async () => {
    const h = harness(limitsConfig({ a: { x: { tokensPerMinute: 50 } } }));
    const ex = h.exchange(); // ~3 prompt tokens + 100 output > 50
    await admitted(h.step.admit(ex));
    assert.deepEqual(planKeys(ex), ['b/x']);
    assert.match(compactExplanation(ex.routing!).skipped[0]!.detail, /^tpm 50: the request's \d+ tokens alone exceed it$/);
  });

  test('without limits and nothing cooling the plan is left as routing made it', async () => {
    const h = harness(limitsConfig());
    const ex = h.exchange();
    const plan = ex.plan;
    const routing = ex.routing;
    await admitted(h.step.admit(ex));
    assert.equal(ex.plan, plan);
    assert.equal(ex.routing, routing);
  });

  test('a cooling target is no reason to wait while another can serve', async () => {
    const h = harness(limitsConfig());
    h.health.cooling['a/x'] = T0 + 3000;
    const ex = h.exchange();
    await admitted(h.step.admit(ex));
    assert.deepEqual(planKeys(ex), ['b/x']);
    assert.deepEqual(h.clock.sleeps, []);
  });

  test('a limited first target with the other cooling: the cooling one is waited for (it frees first), then serves', async () => {
    const h = harness(limitsConfig({ a: { x: { requestsPerMinute: 1 } } }, { maxWaitMs: 2000 }));
    await admitted(h.step.admit(h.exchange()));
    h.health.cooling['b/x'] = T0 + 700;
    const ex = h.exchange();
    await admitted(h.step.admit(ex));
    assert.deepEqual(planKeys(ex), ['b/x']);
    assert.equal(h.clock.t, T0 + 700);
    assert.deepEqual(compactExplanation(ex.routing!).skipped.map((s) => [s.target, s.reasons]), [['a/x', ['limit']]]);
  });
});

describe('provider limits: a reload', () => {
  test("a new config's limits apply to the next request, on the same counters", async () => {
    const h = harness(limitsConfig({ a: { x: { requestsPerMinute: 1 } } }));
    await admitted(h.step.admit(h.exchange()));
    const before = h.exchange();
    await admitted(h.step.admit(before));
    assert.deepEqual(planKeys(before), ['b/x'], 'at the old limit');
    // Requests carry the config they started with (ex.config); a reload raises the limit to 2.
    const reloaded = h.exchange();
    Object.assign(reloaded, { config: limitsConfig({ a: { x: { requestsPerMinute: 2 } } }) });
    await admitted(h.step.admit(reloaded));
    assert.deepEqual(planKeys(reloaded), ['a/x', 'b/x'], 'the one request counted leaves room under the new limit');
  });
});

describe('provider limits: settle and release', () => {
  const rpm1 = () => limitsConfig({ a: { x: { requestsPerMinute: 1, tokensPerMinute: 1000 } }, b: { x: { tokensPerMinute: 1000 } } });

  test('served by the reserved target: tokens become what the provider reported', async () => {
    const h = harness(rpm1());
    const ex = h.exchange();
    await admitted(h.step.admit(ex));
    h.answeredBy(ex, 0);
    await h.step.settle!(ex, h.settlement(10, 20));
    // 1000 - 30 left: a request of 104 estimated tokens fits on tokens, the rpm of 1 is spent.
    const r = h.store.sync.reserve('probe', 'provider:a', [{ counter: 'provider:a/x/tpm', amount: 970, limit: 1000, windowMs: 60_000 }]);
    assert.equal(r.granted, true, 'the settled 30 tokens leave 970');
    const r2 = h.store.sync.reserve('probe2', 'provider:a', [{ counter: 'provider:a/x/tpm', amount: 1, limit: 1000, windowMs: 60_000 }]);
    assert.equal(r2.granted, false);
  });

  test('served by another target after a failover: the reserved one is given back, the serving one charged', async () => {
    const h = harness(rpm1());
    const ex = h.exchange();
    await admitted(h.step.admit(ex));
    h.answeredBy(ex, 0, 1); // a/x failed (429, 5xx), b/x answered
    await h.step.settle!(ex, h.settlement(10, 20));
    const next = h.exchange();
    await admitted(h.step.admit(next));
    assert.deepEqual(planKeys(next), ['a/x', 'b/x'], "a/x's request was released: its rpm of 1 has room again");
    const b = h.store.sync.reserve('probe', 'provider:b', [{ counter: 'provider:b/x/tpm', amount: 971, limit: 1000, windowMs: 60_000 }]);
    assert.equal(b.granted, false, "b/x was charged the 30 tokens it served (971 no longer fits)");
  });

  test('released when the request never reached a provider; kept as 1 request when the reserved target was tried and nothing served', async () => {
    const h = harness(rpm1());
    const ex = h.exchange();
    await admitted(h.step.admit(ex));
    await h.step.release!(ex);
    const ex2 = h.exchange();
    await admitted(h.step.admit(ex2));
    assert.deepEqual(planKeys(ex2), ['a/x', 'b/x'], 'the release gave the request back');
    h.answeredBy(ex2, 0);
    ex2.lastAttempt!.status = 500;
    await h.step.settle!(ex2, { outcome: 'failed', usage: undefined, estimated: false, costNanoUsd: undefined, cacheHit: false });
    const ex3 = h.exchange();
    await admitted(h.step.admit(ex3));
    assert.deepEqual(planKeys(ex3), ['b/x'], 'the tried request still counts against a/x');
  });
});

describe('provider limits: every target exhausted', () => {
  test('all at their limits, earliest reset past maxWaitMs: 429 provider_capacity_exhausted at once, retry-after the earliest reset', async () => {
    const h = harness(limitsConfig({ a: { x: { requestsPerMinute: 1 } }, b: { x: { requestsPerMinute: 1 } } }));
    await admitted(h.step.admit(h.exchange()));
    h.clock.t += 6000; // b's request one sub-window later: a frees first
    const second = h.exchange();
    await admitted(h.step.admit(second));
    assert.deepEqual(planKeys(second), ['b/x']);
    h.clock.t += 1000;
    const ex = h.exchange();
    const err = await Promise.resolve(h.step.admit(ex)).then(
      () => assert.fail('admitted'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ProviderCapacityError);
    assert.deepEqual(h.clock.sleeps, [], 'no wait that could not end well');
    const { status, headers, body } = toOpenAIError(err);
    assert.equal(status, 429);
    assert.equal(body.error.type, 'rate_limit_error');
    assert.equal(body.error.code, 'provider_capacity_exhausted');
    assert.doesNotMatch(body.error.message, /\ba\/x|b\/x/);
    // a/x's request was counted in the sub-window [T0, T0 + 6 s): it has left every window by T0 + 66 s, 59 s from now.
    assert.equal(err.retryAfterMs, 59_000);
    assert.equal(headers['retry-after'], '59');
    assert.equal(headers['retry-after-ms'], '59000');
    assert.equal(headers['x-should-retry'], 'true');
    const e = compactExplanation(ex.routing!);
    assert.deepEqual(e.candidates, []);
    assert.deepEqual(e.skipped.map((s) => [s.target, s.reasons]), [['a/x', ['limit']], ['b/x', ['limit']]]);
  });

  test('all cooling: backoff with jitter until the first cool-down ends, then routed to it', async () => {
    const h = harness(limitsConfig({}, { maxWaitMs: 2000 }));
    h.health.cooling['a/x'] = T0 + 1500;
    h.health.cooling['b/x'] = T0 + 1200;
    const ex = h.exchange();
    await admitted(h.step.admit(ex));
    assert.deepEqual(planKeys(ex), ['b/x'], 'b/x freed first (a/x, still cooling, leaves the order as routing leaves any cooling target when another can serve)');
    assert.ok(h.clock.sleeps.length >= 2, 'several backoff steps');
    assert.equal(h.clock.t, T0 + 1200, 'never past the earliest free moment');
    for (let k = 1; k < h.clock.sleeps.length - 1; k++) assert.ok(h.clock.sleeps[k]! >= h.clock.sleeps[k - 1]!, 'backoff grows (random fixed at 0.5)');
  });

  test('backoff, then 429 when a target cools down again meanwhile: retry-after from the new cool-down end', async () => {
    const h = harness(limitsConfig({}, { maxWaitMs: 2000 }));
    h.health.cooling['a/x'] = T0 + 900;
    h.health.cooling['b/x'] = T0 + 900;
    h.clock.onSleep = () => {
      // Another request's 429s (or another replica's) extend both cool-downs.
      if (h.clock.t >= T0 + 800) {
        h.health.cooling['a/x'] = T0 + 4000;
        h.health.cooling['b/x'] = T0 + 3500;
      }
    };
    const err = await Promise.resolve(h.step.admit(h.exchange())).then(
      () => assert.fail('admitted'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ProviderCapacityError);
    assert.ok(h.clock.sleeps.length >= 1);
    assert.ok(h.clock.t - T0 <= 2000, 'within maxWaitMs');
    assert.equal(err.retryAfterMs, T0 + 3500 - h.clock.t);
    assert.equal(toOpenAIError(err).headers['retry-after'], String(Math.ceil((T0 + 3500 - h.clock.t) / 1000)));
  });

  test('the wait ends early when a target frees (a reservation given back), before any cool-down ends', async () => {
    const h = harness(limitsConfig({ a: { x: { requestsPerMinute: 1 } } }, { maxWaitMs: 2000 }));
    const holder = h.exchange();
    await admitted(h.step.admit(holder)); // holds a/x's only request
    h.health.cooling['b/x'] = T0 + 1500;
    h.clock.onSleep = () => void h.step.release!(holder); // e.g. a later step refused it
    const ex = h.exchange();
    await admitted(h.step.admit(ex));
    assert.equal(planKeys(ex)[0], 'a/x');
    assert.equal(h.clock.sleeps.length, 1, 'one backoff step, then routed');
    assert.ok(h.clock.t < T0 + 1500);
  });

  test("the caller's abort ends the wait", async () => {
    const h = harness(limitsConfig({}, { maxWaitMs: 2000 }));
    h.health.cooling['a/x'] = T0 + 1500;
    h.health.cooling['b/x'] = T0 + 1500;
    const ex = h.exchange();
    h.clock.onSleep = () => ex.markClosed();
    await assert.rejects(Promise.resolve(h.step.admit(ex)), (e: { code?: string }) => e.code === 'client_closed_request');
    assert.equal(h.clock.sleeps.length, 1);
  });

  test('maxWaitMs 0: the 429 at once', async () => {
    const h = harness(limitsConfig({}, { maxWaitMs: 0 }));
    h.health.cooling['a/x'] = T0 + 500;
    h.health.cooling['b/x'] = T0 + 700;
    await assert.rejects(Promise.resolve(h.step.admit(h.exchange())), (e: unknown) => e instanceof ProviderCapacityError && e.retryAfterMs === 500);
    assert.deepEqual(h.clock.sleeps, []);
  });
});
