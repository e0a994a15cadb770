import assert from 'node:assert/strict';
import { test } from 'node:test';
import { P99_SERIES, percentileOfSent, settledFromS, slopePerMin, soakVerdicts, type P99Series, type RssPoint, type VerdictInput, type VerdictWindow } from '../../bench/soak-verdict.ts';

/** The soak's verdicts (bench/soak-verdict.ts) on made-up runs: no Envoy, no load. */

const p99 = (ms: number): Record<P99Series, number> => Object.fromEntries(P99_SERIES.map((s) => [s, ms])) as Record<P99Series, number>;

/** 10-s windows over `minutes`, each 10,000 requests, 0 failed, p99 from `p99At(tS)`. */
function windows(minutes: number, p99At: (tS: number) => number = () => 5): VerdictWindow[] {
  return Array.from({ length: minutes * 6 }, (_, k) => ({ tS: k * 10, sent: 10_000, failed: 0, p99: p99(p99At(k * 10)) }));
}

/** RSS sampled every 5 s over `minutes`, MB from `mbAt(t)`. */
function rss(minutes: number, mbAt: (t: number) => number): RssPoint[] {
  return Array.from({ length: minutes * 12 + 1 }, (_, k) => ({ t: k * 5, v: mbAt(k * 5) }));
}

function input(o: Partial<VerdictInput> = {}): VerdictInput {
  return { minutes: 10, windows: windows(10), rss: { extproc: rss(10, () => 70), envoy: rss(10, () => 60) }, peakExtprocRssMB: 75, ...o };
}

test('a clean steady run passes every rule, with its numbers', () => {
  const v = soakVerdicts(input());
  assert.equal(v.pass, true);
  assert.deepEqual(v.failures, { pass: true, sent: 600_000, failed: 0 });
  assert.equal(v.rssFlat.extproc.settledMB, 70);
  assert.equal(v.rssFlat.extproc.growthMB, 0);
  assert.equal(v.rssFlat.extproc.slopeMBPerMin, 0);
  assert.deepEqual(v.p99Stable.series.json, { pass: true, firstMs: 5, lastMs: 5, limitMs: 8.5 });
  assert.deepEqual(v.peakRss, { extprocMB: 75, goalMB: 80, withinGoal: true });
  assert.equal(v.settledFromS, 60);
});

test('one failed request in 600,000 fails the run', () => {
  const ws = windows(10);
  ws[33] = { ...ws[33]!, failed: 1 };
  const v = soakVerdicts(input({ windows: ws }));
  assert.deepEqual(v.failures, { pass: false, sent: 600_000, failed: 1 });
  assert.equal(v.pass, false);
});

test('no request sent is not a pass', () => {
  const v = soakVerdicts(input({ windows: [] }));
  assert.equal(v.failures.pass, false);
  assert.equal(v.p99Stable.pass, false);
  assert.equal(v.pass, false);
});

test('RSS that keeps growing fails, by the growth and by the slope', () => {
  // 1.5 MB a minute: 13.5 MB from the settled minute to the last.
  const v = soakVerdicts(input({ rss: { extproc: rss(10, (t) => 70 + (1.5 * t) / 60), envoy: rss(10, () => 60) } }));
  assert.equal(v.rssFlat.extproc.pass, false);
  assert.equal(v.rssFlat.extproc.slopeMBPerMin, 1.5);
  assert.equal(v.rssFlat.extproc.projectedMB, 15);
  assert.ok(v.rssFlat.extproc.growthMB > 10);
  assert.equal(v.rssFlat.envoy.pass, true);
  assert.equal(v.rssFlat.pass, false);
  assert.equal(v.pass, false);
});

test('a slow steady climb under the growth limit still fails on the slope', () => {
  // 1.2 MB/min: 12 MB over 10 min by the slope; the last minute is ~9.6 MB above the first settled one.
  const v = soakVerdicts(input({ rss: { extproc: rss(10, (t) => 70 + (1.2 * t) / 60), envoy: rss(10, () => 60) } }));
  assert.ok(v.rssFlat.extproc.growthMB <= 10, String(v.rssFlat.extproc.growthMB));
  assert.equal(v.rssFlat.extproc.pass, false);
});

test('warm-up growth in the first minute and noise after it are flat', () => {
  const v = soakVerdicts(input({ rss: { extproc: rss(10, (t) => (t < 60 ? 40 + t / 2 : 70 + (t % 15 === 0 ? 3 : -3))), envoy: rss(10, () => 60) } }));
  assert.equal(v.rssFlat.extproc.pass, true);
});

test("Envoy's RSS is judged too", () => {
  const v = soakVerdicts(input({ rss: { extproc: rss(10, () => 70), envoy: rss(10, (t) => (t < 300 ? 60 : 75)) } }));
  assert.equal(v.rssFlat.envoy.pass, false);
  assert.equal(v.rssFlat.envoy.growthMB, 15);
  assert.equal(v.pass, false);
});

test('p99 stability: the last minute against 1.5 × the first settled minute + 1 ms', () => {
  // First settled minute (windows at 60..110 s) p99 4 ms → limit 7 ms.
  const at = (last: number) => (tS: number): number => (tS >= 540 ? last : 4);
  assert.equal(soakVerdicts(input({ windows: windows(10, at(7)) })).p99Stable.pass, true);
  const worse = soakVerdicts(input({ windows: windows(10, at(7.2)) }));
  assert.deepEqual(worse.p99Stable.series.json, { pass: false, firstMs: 4, lastMs: 7.2, limitMs: 7 });
  assert.equal(worse.pass, false);
});

test('p99: one slow window in the last minute is a median, not a failure; the warm-up minute is not judged', () => {
  const v = soakVerdicts(input({ windows: windows(10, (tS) => (tS < 60 ? 50 : tS === 570 ? 40 : 4)) }));
  assert.equal(v.p99Stable.series.json.firstMs, 4);
  assert.equal(v.p99Stable.series.json.lastMs, 4);
  assert.equal(v.p99Stable.pass, true);
});

test('p99 is judged per series: a stream that slows down fails even when JSON does not', () => {
  const ws = windows(10).map((w) => ({ ...w, p99: { ...w.p99, streamTtfb: w.tS >= 540 ? 20 : 5 } }));
  const v = soakVerdicts(input({ windows: ws }));
  assert.equal(v.p99Stable.series.json.pass, true);
  assert.equal(v.p99Stable.series.streamTtfb.pass, false);
  assert.equal(v.p99Stable.pass, false);
});

test('a peak over 80 MB is reported, not a failure of the run', () => {
  const v = soakVerdicts(input({ peakExtprocRssMB: 112.34 }));
  assert.deepEqual(v.peakRss, { extprocMB: 112.3, goalMB: 80, withinGoal: false });
  assert.equal(v.pass, true);
});

test('a short run settles after a fifth of it; the slope fit is least squares per minute', () => {
  assert.equal(settledFromS(2), 24);
  assert.equal(settledFromS(10), 60);
  assert.equal(slopePerMin([{ t: 0, v: 1 }, { t: 30, v: 2 }, { t: 60, v: 3 }]), 2);
  assert.ok(Number.isNaN(slopePerMin([{ t: 0, v: 1 }])));
  const v = soakVerdicts(input({ minutes: 2, windows: windows(2), rss: { extproc: rss(2, () => 70), envoy: rss(2, () => 60) } }));
  assert.equal(v.pass, true);
});

test('percentiles count every request sent: a failed one is slower than any answer', () => {
  const answered = Array.from({ length: 99 }, (_, i) => i + 1); // 1..99 ms
  assert.equal(percentileOfSent(answered, 0, 99), 99);
  assert.equal(percentileOfSent(answered, 0, 50), 50);
  // 100 sent, 1 failed: p99 is the 99th, still an answer; 2 failed of 101: p99 falls among them.
  assert.equal(percentileOfSent(answered, 1, 99), 99);
  assert.equal(percentileOfSent(answered, 2, 99), Number.POSITIVE_INFINITY);
  assert.equal(percentileOfSent([], 5, 50), Number.POSITIVE_INFINITY);
  assert.ok(Number.isNaN(percentileOfSent([], 0, 99)));
});

test('an overloaded run cannot look stable: timeouts make p99 infinite, and infinite is never stable', () => {
  const inf = Number.POSITIVE_INFINITY;
  // Failing windows throughout (answers capped near the 30-s abort, the rest timed out).
  const allBad = soakVerdicts(input({ windows: windows(10, () => inf) }));
  assert.equal(allBad.p99Stable.series.json.pass, false);
  assert.equal(allBad.p99Stable.series.json.lastMs, inf);
  // Good first, failing at the end.
  const late = soakVerdicts(input({ windows: windows(10, (tS) => (tS >= 540 ? inf : 4)) }));
  assert.deepEqual(late.p99Stable.series.json, { pass: false, firstMs: 4, lastMs: inf, limitMs: 7 });
  // One window of six in the last minute is a median, not a verdict, even an infinite one.
  assert.equal(soakVerdicts(input({ windows: windows(10, (tS) => (tS === 570 ? inf : 4)) })).p99Stable.pass, true);
});

test('the shortest soak the CLI accepts (2 min, bench/options.ts) is judged on finite numbers, not "—"', () => {
  const v = soakVerdicts({ minutes: 2, windows: windows(2), rss: { extproc: rss(2, () => 70), envoy: rss(2, () => 60) }, peakExtprocRssMB: 75 });
  assert.equal(v.pass, true);
  for (const s of P99_SERIES) assert.ok(Number.isFinite(v.p99Stable.series[s].limitMs), s);
  assert.ok(Number.isFinite(v.rssFlat.extproc.slopeMBPerMin) && Number.isFinite(v.rssFlat.envoy.slopeMBPerMin));
});
