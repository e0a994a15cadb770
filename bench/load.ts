import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { Pool } from 'undici';
import type { RequestSpec } from './paths.ts';

/**
 * The load generators.
 * - Saturation: autocannon, closed loop (N connections, HTTP/1.1 keep-alive), throughput of 2xx.
 *   Latencies come from its per-response event (float ms; its own histogram rounds to 1 ms).
 * - Concurrency 1 and fixed rates: undici (µs timestamps, response headers visible).
 *   Fixed rates are open loop: request i is due at t0 + i/rate whatever happened before, and its
 *   latency counts from that due time, so a stall shows up in every request it delays
 *   (no coordinated omission). autocannon's `overallRate` is not used for this: it releases
 *   each connection's per-second quota in a burst at the top of every second and records
 *   whole milliseconds.
 */

export const OVERHEAD_HEADER = 'x-gateway-overhead-ms';

export class Clients {
  private readonly pools = new Map<string, Pool>();

  pool(origin: string): Pool {
    let p = this.pools.get(origin);
    if (!p) {
      p = new Pool(origin, {
        connections: 1024,
        pipelining: 1,
        keepAliveTimeout: 120_000,
        keepAliveMaxTimeout: 600_000,
        headersTimeout: 60_000,
        bodyTimeout: 60_000,
      });
      this.pools.set(origin, p);
    }
    return p;
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.destroy().catch(() => undefined)));
    this.pools.clear();
  }
}

export interface Counts {
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statuses: Record<string, number>;
}

const newCounts = (): Counts => ({ ok: 0, non2xx: 0, errors: 0, timeouts: 0, statuses: {} });

function countStatus(c: Counts, status: number): boolean {
  c.statuses[status] = (c.statuses[status] ?? 0) + 1;
  if (status >= 200 && status < 300) {
    c.ok++;
    return true;
  }
  c.non2xx++;
  return false;
}

export interface SaturationRun extends Counts {
  connections: number;
  durationS: number;
  rps: number;
  latencies: number[];
}

export function saturate(spec: RequestSpec, connections: number, durationS: number): Promise<SaturationRun> {
  return new Promise((resolve, reject) => {
    const latencies: number[] = [];
    const inst = autocannon(
      {
        url: spec.origin + spec.path,
        method: spec.method,
        headers: spec.headers,
        body: spec.body,
        connections,
        pipelining: 1,
        duration: durationS,
        timeout: 30,
        // autocannon only stops on a sampling tick: 100 ms keeps short slices short.
        sampleInt: 100,
      },
      (err, res) => {
        if (err) return reject(err);
        const statuses: Record<string, number> = {};
        for (const [code, v] of Object.entries(res.statusCodeStats ?? {})) statuses[code] = v.count;
        const dur = res.duration > 0 ? res.duration : durationS;
        resolve({
          connections,
          durationS: dur,
          ok: res['2xx'],
          non2xx: res.non2xx,
          errors: res.errors - res.timeouts,
          timeouts: res.timeouts,
          statuses,
          rps: res['2xx'] / dur,
          latencies,
        });
      },
    );
    inst.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (status >= 200 && status < 300) latencies.push(ms);
    });
  });
}

async function drain(body: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of body) {
    // discard
  }
}

function headerOf(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export interface LatencyRun extends Counts {
  durationS: number;
  latencies: number[];
  /** x-gateway-overhead-ms as the gateway reported it, per 2xx response. */
  overhead: number[];
}

/** Concurrency 1: one request after another on one kept-alive connection. */
export async function closedLoop1(pool: Pool, spec: RequestSpec, durationS: number): Promise<LatencyRun> {
  const c = newCounts();
  const latencies: number[] = [];
  const overhead: number[] = [];
  const start = performance.now();
  const end = start + durationS * 1000;
  while (performance.now() < end) {
    const t0 = performance.now();
    try {
      const res = await pool.request({ path: spec.path, method: spec.method, headers: spec.headers, body: spec.body });
      await drain(res.body);
      const t1 = performance.now();
      if (countStatus(c, res.statusCode)) {
        latencies.push(t1 - t0);
        const oh = headerOf(res.headers, OVERHEAD_HEADER);
        if (oh !== undefined) overhead.push(Number(oh));
      }
    } catch {
      c.errors++;
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  return { ...c, durationS: (performance.now() - start) / 1000, latencies, overhead };
}

export interface RateRun extends Counts {
  rate: number;
  sent: number;
  durationS: number;
  /** From the due time to the last body byte. */
  latencies: number[];
  /** From the due time to the first body byte. */
  ttfb: number[];
  /** How late the generator itself sent each request (its own health). */
  lag: number[];
  overhead: number[];
  /** 2xx responses whose body failed `check` (counted here, not in `ok`). */
  invalid: number;
}

/**
 * Open loop at `rate` req/s for `durationS`; waits (up to drainMs) for the stragglers. With
 * `check`, every 2xx body is kept (UTF-8) and must pass it, or it counts as `invalid`, not ok.
 */
export async function openLoop(pool: Pool, spec: RequestSpec, rate: number, durationS: number, drainMs = 30_000, check?: (body: string) => boolean): Promise<RateRun> {
  const c = newCounts();
  let invalid = 0;
  const latencies: number[] = [];
  const ttfb: number[] = [];
  const lag: number[] = [];
  const overhead: number[] = [];
  const n = Math.max(1, Math.round(rate * durationS));
  const interval = 1000 / rate;
  const abort = new AbortController();
  setMaxListeners(0, abort.signal); // one listener per in-flight request
  const inflight: Array<Promise<void>> = [];

  const fire = async (due: number): Promise<void> => {
    lag.push(performance.now() - due);
    try {
      const res = await pool.request({ path: spec.path, method: spec.method, headers: spec.headers, body: spec.body, signal: abort.signal });
      let first = true;
      const parts: Buffer[] | undefined = check ? [] : undefined;
      for await (const chunk of res.body) {
        if (first) {
          ttfb.push(performance.now() - due);
          first = false;
        }
        parts?.push(chunk as Buffer);
      }
      const done = performance.now();
      const is2xx = res.statusCode >= 200 && res.statusCode < 300;
      if (parts && is2xx && !check!(Buffer.concat(parts).toString('utf8'))) invalid++;
      else if (countStatus(c, res.statusCode)) {
        latencies.push(done - due);
        const oh = headerOf(res.headers, OVERHEAD_HEADER);
        if (oh !== undefined) overhead.push(Number(oh));
      }
    } catch (err) {
      if (abort.signal.aborted) c.timeouts++;
      else c.errors++;
      void err;
    }
  };

  const t0 = performance.now() + 2;
  await new Promise<void>((resolve) => {
    let i = 0;
    const tick = (): void => {
      const now = performance.now();
      while (i < n && t0 + i * interval <= now) {
        inflight.push(fire(t0 + i * interval));
        i++;
      }
      if (i < n) setTimeout(tick, Math.max(0, t0 + i * interval - performance.now()));
      else resolve();
    };
    setTimeout(tick, 2);
  });
  const timer = setTimeout(() => abort.abort(), drainMs);
  await Promise.all(inflight);
  clearTimeout(timer);
  return { ...c, rate, sent: n, durationS: (performance.now() - t0) / 1000, latencies, ttfb, lag, overhead, invalid };
}
