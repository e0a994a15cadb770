import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { goDurationMs, judgeAttempt, rateLimitWaitMs, untilRfc3339Ms, type UpstreamAttemptEntry } from '../../../src/routing/health/attempt-log.ts';

const NOW = Date.parse('2026-11-30T12:00:00Z');

function entry(status: number, flags: string[] = [], headers: Record<string, string> = {}): UpstreamAttemptEntry {
  return { requestId: 'r1', attemptNumber: 1, cluster: 'openai-primary', status, flags, startMs: NOW - 50, durationMs: 50, headers };
}

describe('judgeAttempt: Envoy upstream_log entry → AttemptResult', () => {
  test('status codes', () => {
    assert.deepEqual(judgeAttempt(entry(500), NOW), { result: 'error' });
    assert.deepEqual(judgeAttempt(entry(503), NOW), { result: 'error' });
    assert.deepEqual(judgeAttempt(entry(302), NOW), { result: 'error' }, 'a redirect the gateway cannot use');
    assert.deepEqual(judgeAttempt(entry(401), NOW), { result: 'error' }, "the provider refused the gateway's key");
    assert.deepEqual(judgeAttempt(entry(403), NOW), { result: 'error' });
    assert.deepEqual(judgeAttempt(entry(408), NOW), { result: 'timeout' });
    assert.deepEqual(judgeAttempt(entry(400), NOW), { result: 'client_error' });
    assert.deepEqual(judgeAttempt(entry(404), NOW), { result: 'client_error' });
    assert.deepEqual(judgeAttempt(entry(422), NOW), { result: 'client_error' });
    assert.deepEqual(judgeAttempt(entry(429), NOW), { result: 'rate_limited' }, 'no wait sent: the cool-down picks its own');
  });

  test('response flags: timeouts, resets, and what is not the provider', () => {
    assert.deepEqual(judgeAttempt(entry(0, ['UT']), NOW), { result: 'timeout' }, 'per_try_timeout');
    assert.deepEqual(judgeAttempt(entry(0, ['SI']), NOW), { result: 'timeout' }, 'per_try_idle_timeout before headers');
    assert.deepEqual(judgeAttempt(entry(200, ['SI']), NOW), { result: 'timeout' }, 'a stream that stalled after its first byte');
    for (const f of ['UC', 'UR', 'UF', 'UPE']) assert.deepEqual(judgeAttempt(entry(0, [f]), NOW), { result: 'reset' }, f);
    assert.deepEqual(judgeAttempt(entry(200, ['UC']), NOW), { result: 'reset' }, 'a stream cut by the provider');
    assert.equal(judgeAttempt(entry(200, ['DC']), NOW), undefined, 'the caller left');
    assert.equal(judgeAttempt(entry(0, ['DC', 'UC']), NOW), undefined, 'the caller left first: the reset is ours');
    assert.equal(judgeAttempt(entry(0, ['DR']), NOW), undefined);
    assert.equal(judgeAttempt(entry(0, ['UO']), NOW), undefined, "Envoy's own overflow");
    assert.equal(judgeAttempt(entry(200, ['URX']), NOW), undefined);
    assert.equal(judgeAttempt(entry(200), NOW), undefined);
    assert.deepEqual(judgeAttempt(entry(429, ['URX'], { 'retry-after': '2' }), NOW), { result: 'rate_limited', retryAfterMs: 2000 }, 'the last of all-429 attempts');
  });

  test("a 429's wait: retry-after first, else the longest reset header", () => {
    assert.deepEqual(judgeAttempt(entry(429, [], { 'retry-after': '7' }), NOW), { result: 'rate_limited', retryAfterMs: 7000 });
    assert.equal(rateLimitWaitMs({ 'retry-after': 'Mon, 30 Nov 2026 12:00:03 GMT' }, NOW), 3000, 'an HTTP date');
    assert.equal(rateLimitWaitMs({ 'retry-after': '2', 'x-ratelimit-reset-tokens': '6m0s' }, NOW), 2000, 'retry-after wins');
    assert.equal(rateLimitWaitMs({ 'x-ratelimit-reset-requests': '1s', 'x-ratelimit-reset-tokens': '6m0s' }, NOW), 360_000, 'the longer of OpenAI requests/tokens');
    assert.equal(rateLimitWaitMs({ 'anthropic-ratelimit-requests-reset': '2026-11-30T12:00:05Z' }, NOW), 5000);
    assert.equal(rateLimitWaitMs({ 'anthropic-ratelimit-tokens-reset': '2026-11-30T11:59:00Z' }, NOW), 0, 'a reset in the past: no wait');
    assert.equal(rateLimitWaitMs({ 'retry-after': 'soon' }, NOW), undefined, 'unreadable');
    assert.equal(rateLimitWaitMs({}, NOW), undefined);
  });

  test("OpenAI's Go durations and Anthropic's RFC 3339 times", () => {
    assert.equal(goDurationMs('1s'), 1000);
    assert.equal(goDurationMs('6m0s'), 360_000);
    assert.equal(goDurationMs('1h2m3.5s'), 3_723_500);
    assert.equal(goDurationMs('120ms'), 120);
    assert.equal(goDurationMs('0.5s'), 500);
    assert.equal(goDurationMs('0'), 0);
    assert.equal(goDurationMs('1.5µs'), 1, 'rounded up to whole ms');
    for (const bad of ['', 's', '5', '5x', '1s junk', '-1s']) assert.equal(goDurationMs(bad), undefined, bad);
    assert.equal(untilRfc3339Ms('2026-11-30T12:00:01.500Z', NOW), 1500);
    assert.equal(untilRfc3339Ms('2026-11-30T13:00:02+01:00', NOW), 2000);
    assert.equal(untilRfc3339Ms('tomorrow', NOW), undefined);
    assert.equal(untilRfc3339Ms('2026-11-30', NOW), undefined);
  });
});
