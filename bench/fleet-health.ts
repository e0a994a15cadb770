/**
 * What fleet-shared target health costs (src/routing/health/fleet/), in-process against a local
 * redis-server (test/support/redis-server.ts; Debian's `redis-server` must be installed):
 *
 * - the background sync: `syncNow()` of `targets` targets (default 20), each with samples of
 *   both kinds in every one of its 30 sub-windows (a 5 min window, one attempt a second per
 *   target), its clock moved 1 s per sync as the timer's would be (so one sync in 10 reads
 *   whole windows, the others the newest sub-windows): wall time per sync (median and max of
 *   40) and the process's CPU per sync (`process.cpuUsage` over 40 more);
 * - the request path: `get` and `record` per call, FleetHealth against LocalHealth on the same
 *   outcomes (2,000,000 reads and 200,000 records, one thread).
 *
 * `node --import tsx bench/fleet-health.ts [targets]`
 */
import { FleetHealth } from '../src/routing/health/fleet/fleet-health.ts';
import { LocalHealth } from '../src/routing/health/local.ts';
import type { AttemptOutcome } from '../src/routing/health/outcome.ts';
import { startRedis } from '../test/support/redis-server.ts';

const targets = Number(process.argv[2] ?? 20);
const redis = await startRedis();
let clock = Date.now();
const fleet = new FleetHealth({ url: redis.url, redis: { keyPrefix: 'bench:', commandTimeoutMs: 1000, connectTimeoutMs: 1000 }, syncIntervalMs: 3_600_000, staleAfterMs: 3_600_000, now: () => clock });
const local = new LocalHealth();
try {
  const keys = Array.from({ length: targets }, (_, i) => `provider${i}/model-${i}`);
  const now = clock;
  fleet.track(keys);
  for (const key of keys) {
    for (let i = 0; i < 300; i++) {
      const o: AttemptOutcome = { key, stream: i % 2 === 0, atMs: now - i * 1000, totalMs: 50 + i, ttftMs: 20 + i, result: 'ok' };
      fleet.record(o);
      local.record(o);
    }
  }
  const deadline = Date.now() + 5000;
  while (!fleet.isShared(keys[0]!)) {
    if (Date.now() > deadline) throw new Error('no connection to the redis-server');
    await new Promise((r) => setTimeout(r, 20));
    await fleet.syncNow();
  }
  const wall: number[] = [];
  for (let r = 0; r < 40; r++) {
    clock += 1000;
    const t = performance.now();
    await fleet.syncNow();
    wall.push(performance.now() - t);
  }
  wall.sort((a, b) => a - b);
  const cpu0 = process.cpuUsage();
  for (let r = 0; r < 40; r++) {
    clock += 1000;
    await fleet.syncNow();
  }
  const cpu = process.cpuUsage(cpu0);
  console.log(`sync of ${targets} targets: wall median ${wall[20]!.toFixed(2)} ms, max ${wall[39]!.toFixed(2)} ms; CPU ${((cpu.user + cpu.system) / 40 / 1000).toFixed(2)} ms per sync`);
  for (const [name, h] of [['FleetHealth', fleet], ['LocalHealth', local]] as const) {
    let sink = 0;
    let t = performance.now();
    const reads = 2_000_000;
    for (let i = 0; i < reads; i++) sink += h.get(keys[i % targets]!, now + 5).samples;
    const getNs = ((performance.now() - t) * 1e6) / reads;
    t = performance.now();
    const records = 200_000;
    for (let i = 0; i < records; i++) h.record({ key: keys[i % targets]!, stream: false, atMs: now + 5, totalMs: 100, result: 'ok' });
    const recordNs = ((performance.now() - t) * 1e6) / records;
    console.log(`${name}: get ${getNs.toFixed(1)} ns, record ${recordNs.toFixed(1)} ns${sink > 0 ? '' : ' (no samples?)'}`);
  }
} finally {
  await fleet.close();
  await redis.stop();
}
