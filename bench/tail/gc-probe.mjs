// Preloaded into the ext_proc by `npm run bench -- --tail` (node --import), never in production.
// Plain JS so that the measured service does not load tsx. Records, in wall-clock milliseconds:
// every GC (start, duration, kind: 1 minor, 2 major, 4 incremental, 8 weak callbacks) and every
// event-loop gap over GAP_MS (a 1 ms ticker late by more than that: the loop was busy or the
// process was not running). On SIGUSR2 it writes both to $TAIL_PROBE_OUT as JSON.
import { writeFileSync } from 'node:fs';
import { PerformanceObserver, performance } from 'node:perf_hooks';

const GAP_MS = 3;
const gcs = [];
const gaps = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcs.push([performance.timeOrigin + e.startTime, e.duration, e.detail?.kind ?? 0]);
}).observe({ entryTypes: ['gc'] });
let last = performance.now();
setInterval(() => {
  const now = performance.now();
  if (now - last > GAP_MS) gaps.push([performance.timeOrigin + last, now - last]);
  last = now;
}, 1).unref();
process.on('SIGUSR2', () => {
  if (process.env.TAIL_PROBE_OUT) writeFileSync(process.env.TAIL_PROBE_OUT, JSON.stringify({ gcs, gaps }));
});
