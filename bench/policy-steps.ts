/**
 * What the policy pipeline (src/policy/: rate limits, budget, and whatever else createPolicies
 * wires) costs per request, in-process, no Envoy: the production pipeline on a real Exchange
 * (config/gateway.yaml + the benchmark's policies, bench/policy-config.ts), admit then settle,
 * for these stores:
 *
 * - `off`: the same config without `rateLimits:`/`budgets:` (every step continues at once): the
 *   baseline every "added" number is taken against;
 * - `embedded`: EmbeddedStateStore on a SQLite file in a temp dir (the real commit, not :memory:),
 *   settlements committed together every SETTLE_COMMIT_MS (the default);
 * - `embedded-per-turn`: the same, committing the settlements of each event-loop turn (`settleCommitMs: 0`,
 *   the store before the interval), for the A/B;
 * - `redis`: RedisStateStore against a redis-server started for the run (skipped when the binary
 *   is missing);
 * - `redis-autopipeline`: the same with ioredis auto-pipelining (`autoPipelining: true`: the
 *   commands of one event-loop turn leave in one socket write), for the A/B.
 *
 * Load: open loop at 1,000 requests/s (about what one caller at concurrency 1 gets through the
 * gateway) and 2,500/s (about the saturation of a gateway with policies on the bench VM); each
 * request is admitted, then settled without waiting for its commit, as src/exchange/finish.ts
 * does. Per request: µs of this process's CPU (process.cpuUsage, user + system, over the slice
 * until every settlement committed, ÷ requests: what the ext_proc pays), the same minus `off`
 * (what the policies add), for the embedded store the share of it spent in settlement commits
 * (the ledger's `flush`, timed by wrapping it), and the admission's wall time p50/p99. Store
 * calls are counted per phase (admission: reserve, reserveSpend; settlement: settle,
 * settleSpend); for Redis, the round trips each phase waits for are counted on one request at a
 * time (a round trip = a burst of socket writes before the next reply arrives: two commands sent
 * in one turn wait one), and the round trip of a bare PING on the same loopback is measured
 * alongside. Slices of the stores are interleaved round by round; values are medians of the
 * rounds with [min–max].
 *
 * Run: `node --import tsx bench/policy-steps.ts [seconds-per-slice] [rounds] [--stores off,embedded,...]`
 * (default 2, 5, every store; ~2 min). `--stores` keeps only the named slices (`off` is always
 * kept: every "added" is taken against it), e.g. for a quick A/B of the embedded store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { loadConfigFile } from '../src/config/loader.ts';
import type { RuntimeConfig } from '../src/config/runtime.ts';
import { Exchange } from '../src/exchange/exchange.ts';
import { GatewayMetrics } from '../src/metrics/metrics.ts';
import { createLogger } from '../src/observability/logger.ts';
import { chatRequestSchema, type ChatRequest } from '../src/openai/chat-request.ts';
import { authorizeModel } from '../src/policy/authorize-model.ts';
import { createPolicies, type Policies } from '../src/policy/index.ts';
import { sha256Hex } from '../src/policy/keys.ts';
import type { Settlement } from '../src/policy/settlement.ts';
import { planRequest } from '../src/routing/request-plan.ts';
import { EmbeddedStateStore } from '../src/state/embedded/store.ts';
import { RedisStateStore } from '../src/state/redis/store.ts';
import type { StateStore } from '../src/state/store.ts';
import { startRedis, type TestRedis } from '../test/support/redis-server.ts';
import { writePolicyConfig } from './policy-config.ts';
import { ROOT } from './topology.ts';

const storesAt = process.argv.indexOf('--stores');
const args = storesAt < 0 ? process.argv.slice(2) : [...process.argv.slice(2, storesAt), ...process.argv.slice(storesAt + 2)];
const seconds = Number(args[0] ?? 2);
const rounds = Number(args[1] ?? 5);
/** The slices to run (`off` always); undefined: all. */
const only = storesAt < 0 ? undefined : new Set(['off', ...(process.argv[storesAt + 1] ?? '').split(',')]);
/** One caller through the gateway at c=1 gets ~1,000 requests/s; 2,500/s is about the busiest a policy gateway got on the bench VM. */
const RATES = [1000, 2500] as const;

const DEMO_KEY = 'sk-bench-policy-steps-demo';
const ENV: NodeJS.ProcessEnv = {
  GATEWAY_DEMO_KEY: DEMO_KEY,
  GATEWAY_DEMO_SUPPORT_KEY: `${DEMO_KEY}-support`,
  GATEWAY_ADMIN_KEY: 'sk-bench-policy-steps-admin',
  SIM_OPENAI_PRIMARY_KEY: 'unused',
  SIM_OPENAI_BACKUP_KEY: 'unused',
  SIM_ANTHROPIC_KEY: 'unused',
  SIM_GEMINI_KEY: 'unused',
};

// The benchmark's gateway request (bench/paths.ts), ~0.6 kB.
const REQUEST: ChatRequest = chatRequestSchema.parse({
  model: 'gpt-4o-mini',
  messages: [
    { role: 'system', content: 'You are a helpful assistant for an online bookshop. Answer briefly and politely, in the language of the question. If you do not know the answer, say so and suggest contacting support@example.com.' },
    { role: 'user', content: 'Hello! I ordered two paperbacks last Tuesday (order 48213) and the tracking page still says "label created". Can you tell me whether that is normal, how long shipping to Lyon usually takes, and whether I can still add a third book to the same parcel?' },
  ],
});
// What the OpenAI simulator reports for it, and its price at gpt-4o-mini's rates (~0.04 µUSD/token).
const SETTLEMENT: Settlement = { outcome: 'completed', usage: { promptTokens: 96, completionTokens: 24 }, estimated: false, costNanoUsd: 28_800, cacheHit: false };

type StoreId = 'off' | 'embedded-per-turn' | 'embedded' | 'redis' | 'redis-autopipeline';
const METHODS = ['reserve', 'reserveSpend', 'settle', 'settleSpend', 'release', 'releaseSpend', 'cacheGet', 'cacheSet', 'getRecord'] as const;

/** The store with every call counted by method name (phase = which methods), its synchronous ones (`sync`) too. */
function counted<S extends object>(store: S, calls: Map<string, number>): S {
  let sync: object | undefined; // made once: the steps read `store.sync` on every call
  return new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (prop === 'sync' && typeof v === 'object' && v !== null) return (sync ??= counted(v, calls));
      if (typeof v !== 'function') return v;
      if ((METHODS as readonly string[]).includes(prop as string)) {
        return (...args: unknown[]) => {
          calls.set(prop as string, (calls.get(prop as string) ?? 0) + 1);
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return (v as (...a: unknown[]) => unknown).bind(target);
    },
  });
}

interface Setup {
  id: StoreId;
  config: RuntimeConfig;
  policies: Policies;
  store: StateStore;
  calls: Map<string, number>;
  /** Embedded: µs spent in the spend ledger's commits (flush) so far. */
  commitUs: { total: number };
}

/**
 * Times the embedded store's settlement commits: its ledger's `flush` (private; wrapped here, a
 * benchmark's liberty) runs on a timer, outside any request's own call.
 */
function timeCommits(store: StateStore, into: { total: number }): void {
  const ledger = (store as unknown as { ledger?: { flush(): void } }).ledger;
  if (!ledger) return;
  const flush = ledger.flush.bind(ledger);
  ledger.flush = () => {
    const t0 = performance.now();
    flush();
    into.total += (performance.now() - t0) * 1000;
  };
}

function exchangeFor(config: RuntimeConfig): Exchange {
  const ex = new Exchange(config, undefined);
  ex.caller = config.callersByKeyHash.get(sha256Hex(DEMO_KEY))!;
  ex.request = REQUEST;
  ex.model = authorizeModel(config, ex.caller, REQUEST.model);
  ex.plan = planRequest(ex.model, REQUEST);
  return ex;
}

interface RateSample {
  /** Process CPU (user + system) over the slice ÷ requests, µs. */
  cpuUs: number;
  /** Admission wall time per request (until the verdict), µs. */
  admitUs: number[];
  /** Embedded: the request's share of the settlement commits (SQLite transaction + WAL checkpoints), µs of the loop. */
  commitUs: number;
  /** Requests sent. */
  n: number;
  /** Requests a step refused (none should be: the limits are never reached). */
  refused: number;
}

const cpuUs = (c: NodeJS.CpuUsage): number => c.user + c.system;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Open loop at `rate` requests/s for `seconds`: request i starts at t0 + i/rate, is admitted,
 * then settled without waiting for the settlement to commit (as src/exchange/finish.ts does:
 * the response has gone). CPU is taken once every settlement has committed.
 */
async function sliceAtRate(s: Setup, rate: number, seconds: number): Promise<RateSample> {
  const total = Math.round(rate * seconds);
  const exs = Array.from({ length: total }, () => exchangeFor(s.config));
  const admitUs: number[] = [];
  const settled: Array<void | Promise<void>> = [];
  let refused = 0;
  const run = async (ex: Exchange): Promise<void> => {
    const t0 = performance.now();
    let a;
    try {
      a = await s.policies.pipeline.admit(ex);
    } catch {
      refused++; // e.g. a Redis command timeout under overload (fail-closed): reported, not hidden
      return;
    }
    admitUs.push((performance.now() - t0) * 1000);
    settled.push(s.policies.pipeline.settle(ex, a, SETTLEMENT));
  };
  const commit0 = s.commitUs.total;
  const admitted: Array<Promise<void>> = [];
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  let next = 0;
  while (next < total) {
    const due = Math.floor(((performance.now() - w0) / 1000) * rate) + 1;
    while (next < Math.min(due, total)) admitted.push(run(exs[next++]!));
    await sleep(1);
  }
  await Promise.all(admitted);
  await Promise.all(settled);
  const cpu = cpuUs(process.cpuUsage(c0)) / total;
  return { cpuUs: cpu, admitUs, commitUs: (s.commitUs.total - commit0) / total, n: total, refused };
}

/**
 * Round trips on a Redis store's connection: a burst of writes (one or more, until a reply is
 * read) is one round trip waited for. Wraps the ioredis client's socket (private; a benchmark's
 * liberty). Undefined for a store without one.
 */
function tripCounter(store: StateStore): { trips: number } | undefined {
  const stream = (store as unknown as { redis?: { stream?: import('node:net').Socket } }).redis?.stream;
  if (!stream) return undefined;
  const c = { trips: 0 };
  let replied = true;
  const write = stream.write.bind(stream) as (...a: unknown[]) => boolean;
  (stream as unknown as { write: (...a: unknown[]) => boolean }).write = (...a: unknown[]) => {
    if (replied) c.trips++;
    replied = false;
    return write(...a);
  };
  stream.on('data', () => (replied = true));
  return c;
}

/** Round trips one request waits for at admission and at settlement, requests one at a time: "min–max" over `n`. */
async function tripsPerPhase(s: Setup, n: number): Promise<string | undefined> {
  const c = tripCounter(s.store);
  if (!c) return undefined;
  const admission: number[] = [];
  const settlement: number[] = [];
  for (let i = 0; i < n; i++) {
    const ex = exchangeFor(s.config);
    c.trips = 0;
    const a = await s.policies.pipeline.admit(ex);
    admission.push(c.trips);
    c.trips = 0;
    await s.policies.pipeline.settle(ex, a, SETTLEMENT);
    settlement.push(c.trips);
  }
  const range = (xs: number[]): string => (Math.min(...xs) === Math.max(...xs) ? `${xs[0]}` : `${Math.min(...xs)}–${Math.max(...xs)}`);
  return `round trips waited, one request at a time: admission ${range(admission)}, settlement ${range(settlement)}`;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : Number.NaN;
};
const pctl = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((s.length * p) / 100) - 1)]! : Number.NaN;
};
const f = (x: number, d = 1): string => (Number.isFinite(x) ? x.toFixed(d) : '—');
const spread = (xs: number[], d = 1): string => `${f(median(xs), d)} [${f(Math.min(...xs), d)}–${f(Math.max(...xs), d)}]`;

async function pingRttUs(url: string, n: number): Promise<number> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  await r.connect();
  for (let i = 0; i < 200; i++) await r.ping();
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await r.ping();
    xs.push((performance.now() - t0) * 1000);
  }
  r.disconnect();
  return median(xs);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'llmx-policy-steps-'));
  let redis: TestRedis | undefined;
  const setups: Setup[] = [];
  try {
    const base = path.join(ROOT, 'config/gateway.yaml');
    const offConfig = loadConfigFile(base, ENV, 1);
    const onConfig = loadConfigFile(writePolicyConfig(base, path.join(dir, 'gateway.policies.yaml')), ENV, 1);
    const logger = createLogger('warn', { write: (line: string) => void process.stderr.write(line) });
    const make = (id: StoreId, config: RuntimeConfig, raw: StateStore): Setup => {
      const calls = new Map<string, number>();
      const store = counted(raw, calls);
      const commitUs = { total: 0 };
      timeCommits(raw, commitUs);
      return { id, config, store: raw, calls, commitUs, policies: createPolicies({ store, logger, metrics: new GatewayMetrics() }) };
    };
    const wanted = (id: StoreId): boolean => !only || only.has(id);
    setups.push(make('off', offConfig, new EmbeddedStateStore({ sqlitePath: path.join(dir, 'off.sqlite') })));
    if (wanted('embedded-per-turn')) setups.push(make('embedded-per-turn', onConfig, new EmbeddedStateStore({ sqlitePath: path.join(dir, 'per-turn.sqlite'), settleCommitMs: 0 })));
    if (wanted('embedded')) setups.push(make('embedded', onConfig, new EmbeddedStateStore({ sqlitePath: path.join(dir, 'embedded.sqlite') })));
    let rtt = Number.NaN;
    try {
      const redisSlices = ([['redis', false], ['redis-autopipeline', true]] as const).filter(([id]) => wanted(id));
      if (redisSlices.length > 0) redis = await startRedis();
      for (const [id, autoPipelining] of redisSlices) {
        const url = redis!.url;
        const store = new RedisStateStore({ url, autoPipelining });
        if (!(await store.waitReady(2000))) throw new Error(`no connection to ${url}`);
        setups.push(make(id, onConfig, store));
      }
      if (redis) rtt = await pingRttUs(redis.url, 2000);
    } catch (err) {
      process.stderr.write(`policy-steps: no Redis slice (${err instanceof Error ? err.message : String(err)})\n`);
    }

    // Warm-up (JIT, SQLite pages, Redis script load), then count one request's store calls.
    const callsPerRequest = new Map<StoreId, string>();
    for (const s of setups) {
      await sliceAtRate(s, RATES[0], 1);
      s.calls.clear();
      const n = (await sliceAtRate(s, 200, 0.5)).n;
      const per = (methods: readonly string[]): string =>
        methods
          .map((m) => [m, (s.calls.get(m) ?? 0) / n] as const)
          .filter(([, v]) => v > 0)
          .map(([m, v]) => `${m} ${v}`)
          .join(' + ') || 'none';
      const calls = `admission: ${per(['reserve', 'reserveSpend', 'cacheGet', 'getRecord'])}; settlement: ${per(['settle', 'settleSpend', 'release', 'releaseSpend', 'cacheSet'])}`;
      const trips = await tripsPerPhase(s, 50);
      callsPerRequest.set(s.id, trips ? `${calls}; ${trips}` : calls);
    }

    type Acc = { cpu: number[]; commit: number[]; admitP50: number[]; admitP99: number[]; refused: number };
    const acc = new Map<string, Acc>();
    const accOf = (id: StoreId, rate: number): Acc => {
      const k = `${id}@${rate}`;
      let a = acc.get(k);
      if (!a) acc.set(k, (a = { cpu: [], commit: [], admitP50: [], admitP99: [], refused: 0 }));
      return a;
    };
    for (let r = 0; r < rounds; r++) {
      const order = [...setups.slice(r % setups.length), ...setups.slice(0, r % setups.length)];
      for (const rate of RATES) {
        for (const s of order) {
          const x = await sliceAtRate(s, rate, seconds);
          const a = accOf(s.id, rate);
          a.cpu.push(x.cpuUs);
          a.commit.push(x.commitUs);
          a.admitP50.push(median(x.admitUs));
          a.admitP99.push(pctl(x.admitUs, 99));
          a.refused += x.refused;
        }
      }
      process.stderr.write(`policy-steps: round ${r + 1}/${rounds} done\n`);
    }

    const out: string[] = [];
    out.push(`Policy pipeline per request, in-process, open loop at ${RATES.join(' and ')} requests/s, ${seconds} s slices, ${rounds} rounds interleaved; medians of rounds [min–max], µs.`);
    out.push(`Load average at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}.${Number.isFinite(rtt) ? ` Redis PING round trip (ioredis, loopback, one at a time): ${f(rtt)} µs.` : ''}`);
    out.push('');
    for (const s of setups) out.push(`- ${s.id}: ${callsPerRequest.get(s.id)}`);
    out.push('');
    out.push('| store | rate/s | process CPU per request | added (− off) | of which settlement commits | admission p50 / p99 (wall) | refused |');
    out.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const rate of RATES) {
      const offCpu = median(accOf('off', rate).cpu);
      for (const s of setups) {
        const a = accOf(s.id, rate);
        const none = s.id === 'off';
        const commits = s.id.startsWith('embedded') ? spread(a.commit) : '—';
        out.push(`| ${s.id} | ${rate} | ${spread(a.cpu)} | ${none ? '—' : spread(a.cpu.map((x) => x - offCpu))} | ${commits} | ${f(median(a.admitP50))} / ${f(median(a.admitP99))} | ${a.refused} |`);
      }
    }
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    for (const s of setups) {
      await s.policies.close().catch(() => undefined);
      await s.store.close().catch(() => undefined);
    }
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`policy-steps failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
