import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfigFile } from '../../../src/config/loader.ts';
import { Exchange } from '../../../src/exchange/exchange.ts';
import { finishExchange } from '../../../src/exchange/finish.ts';
import type { StreamTranslator } from '../../../src/dialects/dialect.ts';
import { UpstreamError } from '../../../src/errors/gateway-error.ts';
import { UNRESTRICTED_SCOPE } from '../../../src/policy/model-scope.ts';
import { answerOutcome } from '../../../src/routing/health/answer.ts';
import type { UpstreamAttemptEntry } from '../../../src/routing/health/attempt-log.ts';
import { healthSchema } from '../../../src/routing/health/breaker-schema.ts';
import { LocalHealth } from '../../../src/routing/health/local.ts';
import type { AttemptOutcome } from '../../../src/routing/health/outcome.ts';
import { reportTransitions } from '../../../src/routing/health/report.ts';
import type { TargetHealth } from '../../../src/routing/health/target-health.ts';
import { UpstreamAttempts } from '../../../src/routing/health/upstream-attempts.ts';
import { DEMO_CONFIG, DEMO_ENV } from '../../support/unit/config.ts';
import { memorySinks } from '../../support/unit/sinks.ts';

const config = loadConfigFile(DEMO_CONFIG, DEMO_ENV, 1);
const PRIMARY = 'openai-primary/gpt-4o-mini';
const BACKUP = 'openai-backup/gpt-4o-mini';

/** A gpt-4o-mini exchange whose attempts 1..n went to the model's targets in order, each started at `startedAtMs`. */
function exchange(attempts: number, startedAtMs = 1000, stream = false): Exchange {
  const ex = new Exchange(config, undefined);
  ex.caller = { name: 'demo', team: 't', scope: UNRESTRICTED_SCOPE, disabled: false };
  ex.model = config.models.get('gpt-4o-mini')!;
  ex.stream = stream;
  for (let n = 1; n <= attempts; n++) {
    const t = ex.model.targets[n - 1]!;
    ex.attempts.push({ provider: t.provider, providerModel: t.model, number: n, key: t.key, startedAtMs });
  }
  return ex;
}

/** A stream translator that only carries its terminal event (what answerOutcome reads). */
function translatorEndingWith(terminal: StreamTranslator['terminal']): StreamTranslator {
  return { terminal } as StreamTranslator;
}

/** A TargetHealth that keeps what it is given. */
function recording(): TargetHealth & { outcomes: AttemptOutcome[] } {
  const outcomes: AttemptOutcome[] = [];
  return { outcomes, record: (o) => void outcomes.push(o), tryProbe: () => true, releaseProbe: () => undefined, get: () => assert.fail('not read here') };
}

describe('the request path records the answering attempt (answer.ts)', () => {
  test('a JSON answer: ok, total time from the attempt start, the provider-reported prompt and cached tokens', () => {
    const ex = exchange(1, 1000);
    ex.lastAttempt!.status = 200;
    ex.usage = { promptTokens: 100, completionTokens: 5, cachedTokens: 40 };
    const o = answerOutcome({ ex, outcome: 'completed', inputEstimated: false }, 1250, 5_000_000);
    assert.deepEqual(o, { key: PRIMARY, stream: false, atMs: 5_000_000, totalMs: 250, result: 'ok', promptTokens: 100, cachedTokens: 40 });
    assert.equal(answerOutcome({ ex, outcome: 'completed', inputEstimated: true }, 1250)!.promptTokens, undefined, 'an estimate is not the provider figure');
  });

  test('a stream: ok at [DONE], time to first token from the first forwarded chunk', () => {
    const ex = exchange(2, 1000, true);
    ex.lastAttempt!.status = 200;
    ex.lastAttempt!.firstChunkAtMs = 1080;
    ex.translator = translatorEndingWith({ kind: 'done' });
    const o = answerOutcome({ ex, outcome: 'completed', inputEstimated: true }, 1900, 7);
    assert.deepEqual(o, { key: BACKUP, stream: true, atMs: 7, totalMs: 900, ttftMs: 80, result: 'ok' }, 'the attempt that answered: the backup');
  });

  test("a stream's error event is judged by its status; a cut stream says nothing", () => {
    const ex = exchange(1, 0, true);
    ex.lastAttempt!.status = 200;
    const cases: Array<[number, string]> = [[500, 'error'], [529, 'error'], [429, 'rate_limited'], [400, 'client_error'], [401, 'error'], [408, 'timeout'], [504, 'timeout']];
    for (const [status, result] of cases) {
      ex.translator = translatorEndingWith({ kind: 'error', error: new UpstreamError(status, 'api_error', 'x') });
      assert.equal(answerOutcome({ ex, outcome: 'failed', inputEstimated: true }, 10)?.result, result, String(status));
    }
    ex.translator = translatorEndingWith(undefined);
    assert.equal(answerOutcome({ ex, outcome: 'aborted', inputEstimated: true }, 10), undefined, 'no terminal event: the upstream log or nobody');
  });

  test('nothing for what the upstream log reports or what is not a provider answer', () => {
    const ex = exchange(1);
    assert.equal(answerOutcome({ ex, outcome: 'aborted', inputEstimated: false }), undefined, 'no response headers');
    ex.lastAttempt!.status = 500;
    assert.equal(answerOutcome({ ex, outcome: 'failed', inputEstimated: false }), undefined, 'a provider 5xx: the upstream log counts it');
    ex.lastAttempt!.status = 400;
    assert.equal(answerOutcome({ ex, outcome: 'failed', inputEstimated: false }), undefined, 'a provider 4xx: the upstream log too');
    ex.lastAttempt!.status = 200;
    assert.equal(answerOutcome({ ex, outcome: 'failed', inputEstimated: false })?.result, 'error', 'a 2xx the gateway could not read');
    ex.envoyLocalReply = true;
    assert.equal(answerOutcome({ ex, outcome: 'failed', inputEstimated: false }), undefined, "Envoy's own reply");
    assert.equal(answerOutcome({ ex: exchange(0), outcome: 'completed', inputEstimated: false }), undefined, 'no attempt (a cache hit)');
  });

  test('finishExchange records once per request into sinks.health and counts it', async () => {
    const { sinks } = memorySinks();
    const health = recording();
    const ex = exchange(1);
    ex.lastAttempt!.status = 200;
    ex.status = 200;
    ex.usage = { promptTokens: 3, completionTokens: 1 };
    finishExchange(ex, 'completed', { ...sinks, health });
    assert.equal(health.outcomes.length, 1);
    assert.equal(health.outcomes[0]!.result, 'ok');
    const counted = await sinks.metrics.attemptOutcomes.get();
    assert.deepEqual(counted.values.map((v) => [v.labels, v.value]), [[{ provider: 'openai-primary', model: 'gpt-4o-mini', result: 'ok' }, 1]]);
  });
});

describe('probes routing granted', () => {
  test('finishExchange gives back a probe no attempt used, and keeps one an attempt used', () => {
    const { sinks } = memorySinks();
    const released: string[] = [];
    const health = { ...recording(), releaseProbe: (key: string) => void released.push(key) };
    // Granted the backup's probe, answered by the primary (attempt 1): the backup was never tried.
    const answered = exchange(1);
    answered.probes = [BACKUP];
    answered.lastAttempt!.status = 200;
    answered.status = 200;
    finishExchange(answered, 'completed', { ...sinks, health });
    assert.deepEqual(released, [BACKUP]);
    // Granted the primary's probe and tried it: its outcome settles the probe, nothing is given back.
    const tried = exchange(1);
    tried.probes = [PRIMARY];
    tried.lastAttempt!.status = 200;
    tried.status = 200;
    finishExchange(tried, 'completed', { ...sinks, health });
    assert.deepEqual(released, [BACKUP]);
    // Refused before any attempt (a limit, a budget): given back.
    const refused = exchange(0);
    refused.probes = [PRIMARY];
    refused.status = 429;
    finishExchange(refused, 'failed', { ...sinks, health });
    assert.deepEqual(released, [BACKUP, PRIMARY]);
  });
});

describe("failed attempts from Envoy's upstream log (upstream-attempts.ts)", () => {
  const entry = (over: Partial<UpstreamAttemptEntry>): UpstreamAttemptEntry => ({
    requestId: 'r',
    attemptNumber: 1,
    cluster: 'openai-primary',
    status: 500,
    flags: [],
    startMs: 10_000,
    durationMs: 40,
    headers: {},
    ...over,
  });

  test('an entry of a request in flight: the target of that attempt, its end time and duration', () => {
    const health = recording();
    const ex = exchange(2);
    const feed = new UpstreamAttempts({ health, lookup: (id) => (id === ex.id ? ex : undefined), now: () => 20_000 });
    feed.onAttempt(entry({ requestId: ex.id, attemptNumber: 1, status: 503 }));
    feed.onAttempt(entry({ requestId: ex.id, attemptNumber: 2, cluster: 'openai-backup', status: 429, headers: { 'retry-after': '2' } }));
    assert.deepEqual(health.outcomes, [
      { key: PRIMARY, stream: false, atMs: 10_040, totalMs: 40, result: 'error' },
      { key: BACKUP, stream: false, atMs: 10_040, totalMs: 40, result: 'rate_limited', retryAfterMs: 2000 },
    ]);
  });

  test('a finished request is remembered only when entries may still come, and bounded', () => {
    const health = recording();
    const feed = new UpstreamAttempts({ health, lookup: () => undefined, rememberMs: 10_000, maxRemembered: 2, now: () => 50_000 });
    const clean = exchange(1);
    clean.lastAttempt!.status = 200;
    feed.remember(clean, 'completed');
    assert.equal(feed.remembered, 0, 'answered by its first attempt: nothing kept');
    const failedOver = exchange(2, 0, true);
    failedOver.lastAttempt!.status = 200;
    feed.remember(failedOver, 'completed');
    const failed = exchange(1);
    failed.lastAttempt!.status = 500;
    feed.remember(failed, 'failed');
    assert.equal(feed.remembered, 2);
    feed.onAttempt(entry({ requestId: failedOver.id, attemptNumber: 1, status: 0, flags: ['UC'] }));
    feed.onAttempt(entry({ requestId: failed.id, attemptNumber: 1, status: 500 }));
    assert.deepEqual(health.outcomes.map((o) => [o.key, o.result, o.stream]), [[PRIMARY, 'reset', true], [PRIMARY, 'error', false]]);
    feed.remember(exchange(2), 'failed');
    assert.equal(feed.remembered, 2, 'at most maxRemembered');
    feed.onAttempt(entry({ requestId: 'never-seen' }));
    assert.equal(health.outcomes.length, 2, 'an unknown request: dropped, no guess');
    feed.onAttempt(entry({ requestId: failedOver.id, flags: ['DC'] }));
    assert.equal(health.outcomes.length, 2, 'the caller left: nothing against the provider');
  });

  test('enough failures open the breaker: one warn line and the metrics', async () => {
    const { sinks, lines } = memorySinks();
    const cfg = healthSchema.parse({ breaker: { errors: { minRequests: 3, windowMs: 30_000 } } });
    const health = new LocalHealth({ config: cfg, onTransition: reportTransitions(sinks.logger, sinks.metrics) });
    const ex = exchange(2);
    const feed = new UpstreamAttempts({ health, metrics: sinks.metrics, lookup: () => ex, now: () => 20_000 });
    for (let i = 0; i < 3; i++) feed.onAttempt(entry({ requestId: ex.id, status: 500 }));
    assert.equal(health.get(PRIMARY, 20_000).breaker, 'open');
    const warn = lines().filter((l) => l['msg'] === 'circuit breaker state changed');
    assert.equal(warn.length, 1);
    assert.deepEqual([warn[0]!['provider'], warn[0]!['model'], warn[0]!['from'], warn[0]!['to'], warn[0]!['reason'], warn[0]!['level']], ['openai-primary', 'gpt-4o-mini', 'closed', 'open', 'errors', 40]);
    assert.match(String(warn[0]!['detail']), /3 of 3 attempts failed/);
    const state = await sinks.metrics.breakerState.get();
    assert.deepEqual(state.values.map((v) => [v.labels, v.value]), [[{ provider: 'openai-primary', model: 'gpt-4o-mini' }, 2]]);
    const transitions = await sinks.metrics.breakerTransitions.get();
    assert.deepEqual(transitions.values.map((v) => [v.labels, v.value]), [[{ provider: 'openai-primary', model: 'gpt-4o-mini', to: 'open', reason: 'errors' }, 1]]);
    const outcomes = await sinks.metrics.attemptOutcomes.get();
    assert.deepEqual(outcomes.values.map((v) => [v.labels['result'], v.value]), [['error', 3]]);
  });
});

describe('LocalHealth.configure (hot reload)', () => {
  test('targets keep their breaker and window; new thresholds apply to the next judgement', () => {
    const h = new LocalHealth({ config: healthSchema.parse({ breaker: { latency: { thresholdMs: 1000, consecutive: 3 } } }) });
    const T = 1_760_000_000_000;
    const slow = (at: number): AttemptOutcome => ({ key: PRIMARY, stream: false, atMs: at, totalMs: 1500, result: 'ok' });
    h.record(slow(T));
    h.record(slow(T + 1));
    h.configure(healthSchema.parse({ breaker: { latency: { thresholdMs: 1000, consecutive: 2 } } }));
    assert.equal(h.get(PRIMARY, T + 2).samples, 2, 'the window survived');
    h.record(slow(T + 2));
    assert.equal(h.get(PRIMARY, T + 3).breaker, 'open', 'a run of 3 ≥ the new 2');
    h.configure(healthSchema.parse({ breaker: { errors: { windowMs: 60_000 } } }));
    const after = h.get(PRIMARY, T + 4);
    assert.equal(after.breaker, 'open', 'the breaker stays open');
    assert.equal(after.samples, 0, 'a new window length starts the figures afresh');
  });
});
