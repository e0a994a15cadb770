import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/config/errors.ts';
import { loadConfigFile } from '../../src/config/loader.ts';
import { toOpenAIError } from '../../src/errors/to-openai.ts';
import { errorImmediateResponse } from '../../src/exchange/error-response.ts';
import { exchangeRateLimitView, requestTokenEstimate } from '../../src/policy/rate-limit-exchange.ts';
import { formatResetDuration, grantedHeaders } from '../../src/policy/rate-limit-headers.ts';
import { StateUnavailableRefusal } from '../../src/policy/rate-limit-errors.ts';
import type { LimitRule } from '../../src/policy/rate-limit-config.ts';
import { rateLimitsSchema } from '../../src/policy/rate-limit-schema.ts';
import { EmbeddedStateStore } from '../../src/state/embedded/store.ts';
import { StateUnavailableError, type StateStore } from '../../src/state/store.ts';
import { Exchange } from '../../src/exchange/exchange.ts';
import { chatRequestSchema } from '../../src/openai/chat-request.ts';
import { scratchDir, smallConfig } from '../support/unit/config.ts';
import { admit, makeStep, policy, rateLimitCases, refused, req, settlement, uid } from './rate-limit-harness.ts';

const memory = (now?: () => number): EmbeddedStateStore => new EmbeddedStateStore({ sqlitePath: ':memory:', ...(now ? { now } : {}) });

rateLimitCases('embedded', async () => memory());

/** An epoch-ms instant on a 6 s sub-window boundary (a minute window's sub-windows with N = 10). */
const T0 = 6000 * 166_666_667;

describe('rate-limit step: windows at their edges (embedded store, driven clock)', () => {
  it('a full minute frees its first unit when that sub-window leaves the window, not before', async () => {
    let now = T0;
    const store = memory(() => now);
    const step = makeStep(store, policy({ keys: { k: { requestsPerMinute: 2 } } }, ['k']));
    const caller = { name: 'k', team: 't' };
    const h = await admit(step, req(caller));
    // Everything counted at T0 has left every check 66 s later (one window + the partial sub-window).
    assert.equal(h['x-ratelimit-reset-requests'], '1m6s');
    await admit(step, req(caller));
    now = T0 + 65_999;
    const err = await refused(step, req(caller));
    const e = toOpenAIError(err);
    assert.equal(e.headers['retry-after'], '1', 'rounded up to whole seconds');
    assert.equal(e.headers['x-should-retry'], undefined, 'a short wait: the SDKs retry after it');
    assert.equal(e.headers['x-ratelimit-reset-requests'], '1ms');
    assert.match(e.body.error.message, /Please try again in 1ms\.$/);
    // The ext_proc's ImmediateResponse carries the same headers to Envoy.
    const immediate = errorImmediateResponse(err) as { immediate_response: { status: { code: number }; headers: { set_headers: Array<{ header: { key: string; raw_value: Uint8Array } }> } } };
    assert.equal(immediate.immediate_response.status.code, 429);
    const sent = Object.fromEntries(immediate.immediate_response.headers.set_headers.map(({ header }) => [header.key, Buffer.from(header.raw_value).toString()]));
    assert.equal(sent['retry-after'], '1');
    assert.equal(sent['x-ratelimit-limit-requests'], '2');
    assert.equal(sent['x-ratelimit-remaining-requests'], '0');
    assert.equal(sent['x-ratelimit-reset-requests'], '1ms');
    now = T0 + 66_000;
    assert.equal((await admit(step, req(caller)))['x-ratelimit-remaining-requests'], '1');
    await store.close();
  });

  it('a burst at a fixed minute\'s boundary does not get twice the limit', async () => {
    let now = T0 + 59_999;
    const store = memory(() => now);
    const step = makeStep(store, policy({ teams: { t: { limits: { requestsPerMinute: 2 } } } }));
    const caller = { name: 'k', team: 't' };
    await admit(step, req(caller));
    await admit(step, req(caller));
    // A fixed window would start afresh here.
    now = T0 + 60_000;
    await refused(step, req(caller));
    now = T0 + 119_999;
    await refused(step, req(caller));
    now = T0 + 120_000;
    await admit(step, req(caller));
    await store.close();
  });

  it('a day window refuses with the time until the day\'s oldest sub-window leaves', async () => {
    const now = T0;
    const store = memory(() => now);
    const step = makeStep(store, policy({ teams: { t: { features: { bot: { tokensPerDay: 1000 } } } } }));
    const caller = { name: 'k', team: 't', feature: 'bot' };
    assert.equal((await admit(step, req(caller, 1000)))['x-ratelimit-remaining-tokens'], '0');
    const err = await refused(step, req(caller, 1));
    const s = 8_640_000;
    const expectedMs = (Math.floor(T0 / s) + 11) * s - T0;
    const e = toOpenAIError(err);
    assert.equal(e.body.error.type, 'tokens');
    assert.match(e.body.error.message, /for feature bot of team t on tokens per day \(TPD\): Limit 1000, Used 1000, Requested 1\./);
    assert.equal(e.headers['retry-after'], String(Math.ceil(expectedMs / 1000)));
    assert.equal(e.headers['x-ratelimit-reset-tokens'], formatResetDuration(expectedMs));
    assert.equal(e.headers['x-should-retry'], 'false', 'hours away: the SDKs must not retry on their own');
    await store.close();
  });
});

/** A store that can be made to fail as Redis does: disconnected (isReady false) or stalled (calls time out). */
function flaky(inner: StateStore): { store: StateStore; state: { mode: 'up' | 'disconnected' | 'stalled' } } {
  const state = { mode: 'up' as 'up' | 'disconnected' | 'stalled' };
  const store = new Proxy(inner, {
    get(target, prop) {
      if (prop === 'backend') return 'redis';
      if (prop === 'isReady') return () => state.mode !== 'disconnected';
      // Redis has no synchronous calls: every call goes through the failing methods below.
      if (prop === 'sync') return undefined;
      const v: unknown = Reflect.get(target, prop, target);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) =>
        state.mode === 'up'
          ? (v as (...a: unknown[]) => unknown).apply(target, args)
          : Promise.reject(new StateUnavailableError('redis', String(prop), new Error('Command timed out')));
    },
  });
  return { store, state };
}

describe('rate-limit step: when the state backend fails', () => {
  function setup(onStateError: 'fail-open' | 'fail-closed') {
    const inner = memory();
    const { store, state } = flaky(inner);
    const fallback = memory();
    const logs: Array<{ level: string; msg: string }> = [];
    const events: string[] = [];
    const team = `t-${uid()}`;
    const step = makeStep(store, policy({ onStateError, teams: { [team]: { limits: { requestsPerMinute: 2 } } } }), {
      fallback,
      outageQuietMs: 0,
      log: { warn: (_o, msg) => logs.push({ level: 'warn', msg }), info: (_o, msg) => logs.push({ level: 'info', msg }) },
      onStateError: (e) => events.push(`${e.policy} ${e.operation} ${e.mode}`),
    });
    return { inner, fallback, state, step, logs, events, caller: { name: 'k', team } };
  }

  it('fail-closed: 503 state_unavailable with retry-after while down, logged once per transition, counted per request', async () => {
    const { state, step, logs, events, caller, inner, fallback } = setup('fail-closed');
    await admit(step, req(caller));
    for (const mode of ['disconnected', 'stalled'] as const) {
      state.mode = mode;
      for (let i = 0; i < 3; i++) {
        await assert.rejects(Promise.resolve(step.admit(req(caller))), (err: unknown) => {
          assert.ok(err instanceof StateUnavailableRefusal);
          const e = toOpenAIError(err);
          assert.equal(e.status, 503);
          assert.equal(e.body.error.type, 'service_unavailable_error');
          assert.equal(e.body.error.code, 'state_unavailable');
          assert.equal(e.headers['retry-after'], '1');
          assert.doesNotMatch(e.body.error.message, /redis|timed out/i, 'the backend stays unnamed');
          return true;
        });
      }
    }
    assert.equal(events.length, 6);
    assert.ok(events.every((e) => e === 'rate-limit reserve fail-closed'));
    state.mode = 'up';
    // Recovered: the shared counters again (one request from before the outage is counted there).
    assert.equal((await admit(step, req(caller)))['x-ratelimit-remaining-requests'], '0');
    assert.deepEqual(logs.map((l) => l.level), ['warn', 'info'], 'one line when the outage starts, one when it ends');
    await Promise.all([inner.close(), fallback.close()]);
  });

  it('fail-open: local counters enforce the same limits during the outage; settle goes where the reservation was taken', async () => {
    const { state, step, logs, events, caller, inner, fallback } = setup('fail-open');
    const before = req(caller);
    await admit(step, before);
    state.mode = 'disconnected';
    const a = req(caller);
    assert.equal((await admit(step, a))['x-ratelimit-remaining-requests'], '1', 'counted locally, from zero');
    await admit(step, req(caller));
    await refused(step, req(caller));
    // The reservation taken before the outage cannot be settled now: counted, not thrown.
    await step.settle!(before, settlement({ usage: { promptTokens: 1, completionTokens: 1 } }));
    // One taken on the local counters settles there.
    await step.release!(a);
    await admit(step, req(caller));
    assert.deepEqual(events, ['rate-limit reserve fail-open', 'rate-limit reserve fail-open', 'rate-limit reserve fail-open', 'rate-limit settle fail-open', 'rate-limit reserve fail-open']);
    state.mode = 'up';
    assert.equal((await admit(step, req(caller)))['x-ratelimit-remaining-requests'], '0', 'the shared counter again');
    assert.deepEqual(logs.map((l) => l.level), ['warn', 'info']);
    assert.match(logs[0]!.msg, /counts in this process/);
    await Promise.all([inner.close(), fallback.close()]);
  });
});

describe('rate-limit headers', () => {
  it('formats resets as OpenAI does (Go durations)', () => {
    const cases: Array<[number, string]> = [
      [0, '0s'], [0.4, '1ms'], [20, '20ms'], [999, '999ms'], [1000, '1s'], [1500, '1.5s'], [61_250, '1m1.25s'],
      [360_000, '6m0s'], [66_000, '1m6s'], [86_400_000, '24h0m0s'], [95_040_000, '26h24m0s'],
    ];
    for (const [ms, text] of cases) assert.equal(formatResetDuration(ms), text, `${ms} ms`);
  });

  it('reports the most constraining window per unit: fewest remaining, on a tie the longest reset', () => {
    const rule = (unit: 'requests' | 'tokens', limit: number): LimitRule => ({ scope: 'key', unit, counter: 'c', windowMs: 60_000, limit, description: '', subject: '' });
    const h = grantedHeaders(
      [rule('requests', 10), rule('requests', 100), rule('tokens', 1000), rule('tokens', 50_000)],
      [
        { counter: 'c', limit: 10, remaining: 9, resetMs: 10_000 },
        { counter: 'c', limit: 100, remaining: 9, resetMs: 60_000 },
        { counter: 'c', limit: 1000, remaining: -20, resetMs: 5_000 },
        { counter: 'c', limit: 50_000, remaining: 400, resetMs: 86_000_000 },
      ],
    );
    assert.deepEqual(h, {
      'x-ratelimit-limit-requests': '100',
      'x-ratelimit-remaining-requests': '9',
      'x-ratelimit-reset-requests': '1m0s',
      'x-ratelimit-limit-tokens': '1000',
      'x-ratelimit-remaining-tokens': '0',
      'x-ratelimit-reset-tokens': '5s',
    });
  });
});

describe('rate-limit config', () => {
  it('compiles keys, teams and features into counters, and defaults to fail-closed', () => {
    const p = policy({ keys: { k: { requestsPerMinute: 1, tokensPerDay: 9 } }, teams: { t: { limits: { tokensPerMinute: 5 }, features: { f: { requestsPerDay: 3 } } } } }, ['k']);
    assert.equal(p.onStateError, 'fail-closed');
    assert.deepEqual(
      p.rulesFor({ name: 'k', team: 't', feature: 'f' }).map((r) => `${r.counter} ${r.unit} ${r.windowMs} ${r.limit}`),
      ['key:k/rpm requests 60000 1', 'key:k/tpd tokens 86400000 9', 'team:t/tpm tokens 60000 5', 'feature:t/f/rpd requests 86400000 3'],
    );
    assert.deepEqual(p.rulesFor({ name: 'other', team: 'u' }), []);
  });

  it('refuses unknown fields and a key name that is not in keys:', () => {
    assert.throws(() => rateLimitsSchema.parse({ keys: { k: { requestsPerSecond: 1 } } }), /requestsPerSecond.*expected: requestsPerMinute/);
    assert.throws(() => rateLimitsSchema.parse({ onStateError: 'ignore' }));
    assert.throws(() => policy({ keys: { typo: { requestsPerMinute: 1 } } }, ['k']), (err: unknown) => err instanceof ConfigError && /rateLimits\.keys\.typo/.test(err.message));
  });

  it('loads from gateway.yaml into the runtime config', () => {
    const dir = scratchDir();
    try {
      const file = dir.write(
        'gateway.yaml',
        smallConfig() + 'rateLimits:\n  onStateError: fail-open\n  keys:\n    caller: { requestsPerMinute: 7 }\n',
      );
      const config = loadConfigFile(file, { P1_KEY: 'x' }, 1);
      assert.equal(config.rateLimits.onStateError, 'fail-open');
      const [rule] = config.rateLimits.rulesFor({ name: 'caller', team: 'default' });
      assert.equal(rule?.limit, 7);
      const none = loadConfigFile(dir.write('plain.yaml', smallConfig()), { P1_KEY: 'x' }, 1);
      assert.equal(none.rateLimits.empty, true);
    } finally {
      dir.cleanup();
    }
  });

  it('estimates a request\'s tokens: prompt characters / 4 + the output limit (or the model default) times n', () => {
    // 400 characters: the role name counts too (src/exchange/stream-settlement.ts).
    const body = (extra: object) => chatRequestSchema.parse({ model: 'm1', messages: [{ role: 'user', content: 'x'.repeat(396) }], ...extra });
    assert.equal(requestTokenEstimate(body({}), 4096), 100 + 4096);
    assert.equal(requestTokenEstimate(body({ max_tokens: 50 }), 4096), 150);
    assert.equal(requestTokenEstimate(body({ max_tokens: 50, max_completion_tokens: 20, n: 3 }), 4096), 160);
    const dir = scratchDir();
    try {
      const config = loadConfigFile(dir.write('g.yaml', smallConfig()), { P1_KEY: 'x' }, 1);
      const ex = new Exchange(config, undefined);
      assert.equal(exchangeRateLimitView(ex), undefined, 'nothing to limit before the caller and model are known');
      ex.caller = config.keys.keys[0]!;
      ex.request = body({ max_tokens: 10 });
      ex.model = config.models.get('m1')!;
      const v = exchangeRateLimitView(ex)!;
      assert.equal(v.requestId, ex.id);
      assert.equal(v.model, 'm1');
      assert.equal(v.tokenEstimate(), 110);
    } finally {
      dir.cleanup();
    }
  });
});

describe('rate-limit step on a synchronous store (embedded)', () => {
  it('admits, refuses, settles and releases without a promise', () => {
    const store = memory();
    const team = `t-${uid()}`;
    const step = makeStep(store, policy({ teams: { [team]: { limits: { requestsPerMinute: 1 } } } }));
    const caller = { name: 'k', team };
    const a = req(caller);
    const v = step.admit(a);
    assert.ok(!(v instanceof Promise), 'a verdict, not a promise');
    assert.equal(v.kind === 'continue' && v.headers?.['x-ratelimit-remaining-requests'], '0');
    assert.throws(() => step.admit(req(caller)), (err: unknown) => err instanceof Error && err.name === 'RateLimitExceededError');
    assert.equal(step.release!(a), undefined, 'released synchronously');
    const b = req(caller);
    assert.ok(!(step.admit(b) instanceof Promise), 'the released unit is free again at once');
    assert.equal(step.settle!(b, settlement()), undefined);
  });
});
