import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { judgeAttempt, parseRetryAfterMs, rateLimitWaitMs } from '../../../src/routing/health/attempt-log.ts';

const NOW = Date.parse('2026-11-30T12:00:00Z');
const entry = (headers: Record<string, string>) => ({ requestId: 'r', attemptNumber: 1, cluster: 'openai', status: 429, flags: [], startMs: NOW, durationMs: 5, headers });

describe("a provider 429's wait, from each header form", () => {
  test('retry-after-ms first (the SDKs read it first), then retry-after, then the reset headers', () => {
    assert.deepEqual(judgeAttempt(entry({ 'retry-after-ms': '1500', 'retry-after': '7' }), NOW), { result: 'rate_limited', retryAfterMs: 1500 });
    assert.equal(rateLimitWaitMs({ 'retry-after-ms': '20.2' }, NOW), 21, 'fractions rounded up');
    assert.equal(rateLimitWaitMs({ 'retry-after-ms': '0' }, NOW), 0);
    assert.equal(rateLimitWaitMs({ 'retry-after': '7' }, NOW), 7000, 'seconds');
    assert.equal(rateLimitWaitMs({ 'retry-after': 'Mon, 30 Nov 2026 12:00:04 GMT' }, NOW), 4000, 'an HTTP date');
    assert.equal(rateLimitWaitMs({ 'x-ratelimit-reset-requests': '20ms' }, NOW), 20, 'OpenAI: a Go duration');
    assert.equal(rateLimitWaitMs({ 'x-ratelimit-reset-tokens': '6m0s' }, NOW), 360_000);
    assert.equal(rateLimitWaitMs({ 'x-ratelimit-reset-requests': '1s', 'x-ratelimit-reset-tokens': '6m0s' }, NOW), 360_000, 'the longer of the two');
    for (const h of ['requests', 'tokens', 'input-tokens', 'output-tokens']) {
      assert.equal(rateLimitWaitMs({ [`anthropic-ratelimit-${h}-reset`]: '2026-11-30T12:00:12Z' }, NOW), 12_000, `Anthropic ${h}: an RFC 3339 time`);
    }
  });

  test('bad values are ignored: the next readable header counts, or none', () => {
    for (const bad of ['', '-5', '1e3', 'soon', '1,5', '  ', 'NaN', 'Infinity']) assert.equal(parseRetryAfterMs(bad), undefined, JSON.stringify(bad));
    assert.equal(rateLimitWaitMs({ 'retry-after-ms': 'soon', 'retry-after': '3' }, NOW), 3000);
    assert.equal(rateLimitWaitMs({ 'retry-after-ms': '-1', 'retry-after': 'later', 'x-ratelimit-reset-tokens': '2s' }, NOW), 2000);
    assert.equal(rateLimitWaitMs({ 'x-ratelimit-reset-tokens': '5 seconds', 'anthropic-ratelimit-tokens-reset': 'tomorrow' }, NOW), undefined);
    assert.deepEqual(judgeAttempt(entry({ 'retry-after': 'x' }), NOW), { result: 'rate_limited' }, 'nothing readable: the cool-down doubles from its own base');
  });
});
