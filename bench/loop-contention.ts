/**
 * Head-of-line blocking inside the ext_proc process alone, A/B in one process: the router-level
 * processor serves small requests (open loop, 200/s, each one's latency counted from its due
 * time) while 16 large requests are in flight, with large bodies handled in-line (A) or through
 * the heavy-work queue (B, src/exchange/heavy-work/turn-queue.ts). No Envoy, no sockets: what
 * the end-to-end bench (`--head-of-line`) sees through the noise of Envoy, the simulators and
 * the load generator sharing the machine's cores, this isolates: how long a small request's
 * message waits for the event loop. Slices of each variant alternate (A, B, B, A, …) so drift
 * hits both alike.
 *
 * Run: `node --import tsx bench/loop-contention.ts [seconds-per-slice] [rounds]`.
 */
import { performance } from 'node:perf_hooks';
import { ConfigStore } from '../src/config/store.ts';
import { HEAVY_BODY_BYTES } from '../src/exchange/heavy-work/turn-queue.ts';
import { ExchangeRegistry } from '../src/exchange/registry.ts';
import { RouterProcessor } from '../src/exchange/router-processor.ts';
import type { ExtProcRequest } from '../src/extproc/types.ts';
import { DEMO_CONFIG, DEMO_ENV, DEMO_KEY } from '../test/support/unit/config.ts';
import { memorySinks } from '../test/support/unit/sinks.ts';
import { largeBodies } from './large-bodies.ts';
import { dist } from './stats.ts';

const seconds = Number(process.argv[2] ?? 3);
const rounds = Number(process.argv[3] ?? 2);
const SMALL_RATE = 200;
const LARGE_IN_FLIGHT = 16;

const configs = new ConfigStore(DEMO_CONFIG, DEMO_ENV);
const registry = new ExchangeRegistry(100_000, 600_000);
const { sinks } = memorySinks();

const headers: ExtProcRequest = {
  request_headers: {
    headers: {
      headers: Object.entries({ ':method': 'POST', ':path': '/v1/chat/completions', 'content-type': 'application/json', authorization: `Bearer ${DEMO_KEY}` }).map(([key, value]) => ({ key, raw_value: Buffer.from(value) })),
    },
    end_of_stream: false,
  },
} as unknown as ExtProcRequest;
const bodyMessage = (body: Buffer): ExtProcRequest => ({ request_body: { body, end_of_stream: true } }) as unknown as ExtProcRequest;
const smallBody = bodyMessage(Buffer.from(JSON.stringify({ model: 'claude-sonnet-4-5', messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Say hi in five words.' }] })));

/** One request's two request phases through a fresh router-level processor. */
async function serve(threshold: number, body: ExtProcRequest): Promise<void> {
  const router = new RouterProcessor(configs, registry, sinks, threshold);
  await router.handle(headers);
  const res = await router.handle(body);
  if (!('request_body' in res)) throw new Error(`not accepted: ${JSON.stringify(res).slice(0, 200)}`);
  router.close('done');
}

interface Slice {
  small: ReturnType<typeof dist>;
  large: number;
}

async function slice(threshold: number, large: Buffer): Promise<Slice> {
  const endAt = performance.now() + seconds * 1000;
  let largeDone = 0;
  const largeMsg = bodyMessage(large);
  // Each large request arrives as its own I/O event (an immediate), as gRPC messages do.
  const loop = async (): Promise<void> => {
    while (performance.now() < endAt) {
      await new Promise((r) => setImmediate(r));
      await serve(threshold, largeMsg);
      largeDone++;
    }
  };
  const loops = Array.from({ length: LARGE_IN_FLIGHT }, loop);
  const latencies: number[] = [];
  const t0 = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      // Every small request due by now: served, its latency counted from when it was due.
      while (t0 + (sent * 1000) / SMALL_RATE <= now && sent < seconds * SMALL_RATE) {
        const due = t0 + (sent * 1000) / SMALL_RATE;
        sent++;
        void serve(threshold, smallBody).then(() => latencies.push(performance.now() - due));
      }
      if (sent >= seconds * SMALL_RATE) resolve();
      else setTimeout(tick, Math.max(0, t0 + (sent * 1000) / SMALL_RATE - performance.now()));
    };
    tick();
  });
  await Promise.all(loops);
  return { small: dist(latencies), large: largeDone };
}

const variants = [
  { id: 'in-line', threshold: Number.POSITIVE_INFINITY },
  { id: 'queued', threshold: HEAVY_BODY_BYTES },
];
console.log(`small requests at ${SMALL_RATE}/s, ${LARGE_IN_FLIGHT} large in flight, ${seconds} s slices, ${rounds} rounds per variant (ms, from due time)`);
for (const shape of largeBodies()) {
  const large = Buffer.from(shape.body);
  const results = new Map<string, Slice[]>(variants.map((v) => [v.id, []]));
  await slice(HEAVY_BODY_BYTES, large); // warm-up
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? variants : [...variants].reverse();
    for (const v of order) results.get(v.id)!.push(await slice(v.threshold, large));
  }
  console.log(`\n${shape.label}`);
  for (const [id, slices] of results) {
    const row = slices.map((s) => `p50 ${s.small?.p50.toFixed(1)} p99 ${s.small?.p99.toFixed(1)} max ${s.small?.max.toFixed(1)}, large ${(s.large / seconds).toFixed(1)}/s`).join(' | ');
    console.log(`  ${id.padEnd(8)} ${row}`);
  }
}
registry.close();
