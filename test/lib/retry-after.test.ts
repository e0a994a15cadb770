import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRetryAfter } from '../../src/lib/retry-after.ts';

const NOW = Date.parse('2030-01-01T00:00:00Z');

test('delay-seconds', () => {
  assert.equal(parseRetryAfter('5', NOW), 5);
  assert.equal(parseRetryAfter(' 12 ', NOW), 12);
  assert.equal(parseRetryAfter('0', NOW), 0);
  assert.equal(parseRetryAfter('1.2', NOW), 2);
});

test('HTTP date: seconds from now, never negative', () => {
  assert.equal(parseRetryAfter('Tue, 01 Jan 2030 00:00:30 GMT', NOW), 30);
  assert.equal(parseRetryAfter('Tue, 01 Jan 2030 00:00:00 GMT', NOW), 0);
  assert.equal(parseRetryAfter('Mon, 31 Dec 2029 23:00:00 GMT', NOW), 0);
});

test('absent or garbage → undefined', () => {
  for (const v of [undefined, '', '   ', 'soon', 'in 5 minutes', '5m', '1e3', 'Infinity']) assert.equal(parseRetryAfter(v, NOW), undefined, String(v));
});

test('number-like garbage that a lenient date parser accepts → undefined, not 0', () => {
  // Neither delay-seconds (1*DIGIT) nor an HTTP-date (RFC 9110 §10.2.3); V8's Date.parse reads them as dates in 2001.
  for (const v of ['-5', '1,5', '3 4']) assert.equal(parseRetryAfter(v, NOW), undefined, v);
});
