import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attributeTail, type GcEvent, type Interval, type TimedRequest } from '../../bench/tail/attribute.ts';

// 100 requests of 1 ms, 10 ms apart; the 99th and 100th are slow (20 ms).
const requests: TimedRequest[] = Array.from({ length: 100 }, (_, i) => ({ startMs: 1_000_000 + i * 10, latencyMs: i >= 98 ? 20 : 1 + (i % 10) / 100 }));

test('bands split at p90 and p99, and each request is matched against what ran during it', () => {
  const gcs: GcEvent[] = [
    { startMs: 1_000_000 + 980 + 5, durationMs: 2, kind: 1 }, // inside request 98 (slow)
    { startMs: 1_000_000 + 500 + 0.5, durationMs: 0.2, kind: 1 }, // inside request 50 (fast)
    { startMs: 1_000_000 + 505, durationMs: 1, kind: 2 }, // between requests: meets none
  ];
  const gaps: Interval[] = [{ startMs: 1_000_000 + 990 + 10, durationMs: 5 }]; // inside request 99 (slow)
  const a = attributeTail(requests, gcs, gaps);
  assert.equal(a.latency.n, 100);
  const [fast, mid, slow] = a.bands;
  assert.equal(slow!.label, 'p99 and above');
  assert.deepEqual({ n: slow!.requests, gc: slow!.withGc, gap: slow!.withGap, neither: slow!.withNeither }, { n: 2, gc: 1, gap: 1, neither: 0 });
  assert.equal(fast!.requests + mid!.requests + slow!.requests, 100);
  assert.equal(fast!.withGc + mid!.withGc, 1, 'only request 50 met the short scavenge');
  assert.equal(a.gc.minor, 2);
  assert.equal(a.gc.major, 1);
  assert.equal(a.gaps.count, 1);
});

test('events outside the requests\' span are not counted, and a long event reaches the requests it covers', () => {
  const gcs: GcEvent[] = [
    { startMs: 10, durationMs: 50, kind: 2 }, // long before
    { startMs: 1_000_000 - 5, durationMs: 30, kind: 1 }, // starts before the first request, covers requests 0–2
  ];
  const a = attributeTail(requests, gcs, []);
  assert.equal(a.gc.major, 0);
  assert.equal(a.gc.minor, 1);
  assert.equal(a.bands.reduce((s, b) => s + b.withGc, 0), 3);
});

test('no requests: empty bands, no throw', () => {
  const a = attributeTail([], [], []);
  assert.equal(a.bands.length, 0);
  assert.equal(a.latency.n, 0);
});
