import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { Pool, WebSocket } from 'undici';
import { freePort } from '../src/cli/ports.ts';
import { startStack } from '../src/cli/stack.ts';
import { fuzzBody } from '../test/support/fuzz/requests.ts';
import { prng } from '../src/lib/prng.ts';

/**
 * `npm run fuzz -- --count 100000`: the request fuzz through the real Envoy (issue 12 item 4).
 * Starts the demo stack (Envoy, the ext_proc as a child process, the simulated providers) on
 * free loopback ports, sends `--count` bodies from the in-process fuzz test's generators
 * (test/support/fuzz/requests.ts) plus random byte flips, at most `--concurrency` at a time,
 * and counts the statuses. Failures: any 5xx (every body is the caller's input, the simulators
 * answer valid requests), any request without an answer within `--timeout-ms` (a hang), Envoy
 * or the ext_proc exiting (a crash), and the ext_proc's RSS not back near its baseline after
 * the run (both readings after a full GC forced through the ext_proc's inspector, which this
 * run opens on a free loopback port). Exit code 0 only when there were none, else 1.
 * Options: --count, --concurrency, --seed (reproduces a run's bodies), --timeout-ms.
 */
const { values: args } = parseArgs({
  options: {
    count: { type: 'string', default: '100000' },
    concurrency: { type: 'string', default: '32' },
    seed: { type: 'string', default: String(Date.now() % 2 ** 31) },
    'timeout-ms': { type: 'string', default: '30000' },
  },
});
const COUNT = Number(args.count);
const CONCURRENCY = Number(args.concurrency);
const SEED = Number(args.seed);
const TIMEOUT_MS = Number(args['timeout-ms']);
const BATCH = 500;
/** RSS "back to baseline": within this much of the warmed-up baseline, after the settle. */
const RSS_SLACK_BYTES = 32 * 1024 * 1024;
const WARMUP = Math.min(2_000, Math.ceil(COUNT / 20));

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Flips a few random bytes: what a broken client or a hostile one sends beyond the generators. */
function flipBytes(bytes: Buffer, rnd: () => number): Buffer {
  const out = Buffer.from(bytes);
  const flips = 1 + Math.floor(rnd() * 3);
  for (let i = 0; i < flips && out.length > 0; i++) out[Math.floor(rnd() * out.length)] = Math.floor(rnd() * 256);
  return out;
}


const runDir = mkdtempSync(path.join(tmpdir(), 'llmx-fuzz-'));
console.log(`fuzz: ${COUNT} bodies, concurrency ${CONCURRENCY}, seed ${SEED}, client timeout ${TIMEOUT_MS} ms (logs in ${runDir})`);
// The ext_proc's inspector (loopback, this run only) lets the script force a full GC before
// each RSS reading, so that baseline and after compare live memory, not uncollected garbage.
const inspectPort = await freePort();
const stack = await startStack({ runDir, logToFiles: true, httpPort: 0, httpsPort: 0, env: { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --inspect=127.0.0.1:${inspectPort}`.trim() } });
const crashes: string[] = [];
let stopping = false;
// Ctrl-C stops what the script started (Envoy, the ext_proc, the simulators) before exiting.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    stopping = true;
    void stack.stop().finally(() => process.exit(130));
  });
}
const extprocPid = stack.extproc.process.pid!;
void stack.envoy.exitStatus.then((s) => !stopping && crashes.push(`envoy exited: code ${s.code} signal ${s.signal}`));
void stack.extproc.exitStatus.then((s) => !stopping && crashes.push(`ext_proc exited: code ${s.code} signal ${s.signal}`));

const pool = new Pool(stack.httpUrl, { connections: CONCURRENCY, pipelining: 1, headersTimeout: TIMEOUT_MS, bodyTimeout: TIMEOUT_MS });
const statuses = new Map<string, number>();
const failures: Map<string, { count: number; example: string }> = new Map();
/** 4xx answers by status, code and param: shows which checks the corpus mostly runs into. */
const clientErrors = new Map<string, number>();
let hangs = 0;
let sent = 0;

function fail(kind: string, example: string): void {
  const f = failures.get(kind) ?? { count: 0, example };
  f.count++;
  failures.set(kind, f);
}

function errorOf(text: string): { code?: unknown; type?: unknown; param?: unknown } {
  try {
    return (JSON.parse(text) as { error: { code?: unknown; type?: unknown; param?: unknown } }).error ?? {};
  } catch {
    return { code: 'no OpenAI error body' };
  }
}

async function send(body: Buffer): Promise<void> {
  try {
    const res = await pool.request({
      path: '/v1/chat/completions',
      method: 'POST',
      headers: { authorization: `Bearer ${stack.demoKey}`, 'content-type': 'application/json' },
      body,
    });
    const text = await res.body.text();
    const key = String(res.statusCode);
    statuses.set(key, (statuses.get(key) ?? 0) + 1);
    if (res.statusCode >= 400 && res.statusCode < 500) {
      const e = errorOf(text);
      const k = `${res.statusCode} ${e.code ?? e.type} ${e.param ?? ''}`.trim();
      clientErrors.set(k, (clientErrors.get(k) ?? 0) + 1);
    }
    if (res.statusCode >= 500) {
      let code = 'no OpenAI error body';
      try {
        code = String((JSON.parse(text) as { error: { code: unknown } }).error.code);
      } catch {
        // keep the default
      }
      fail(`${res.statusCode} ${code}`, body.subarray(0, 300).toString('utf8'));
    }
  } catch (err) {
    const name = (err as { code?: string }).code ?? (err as Error).name;
    if (/TIMEOUT/i.test(name)) hangs++;
    fail(`client error ${name}`, body.subarray(0, 300).toString('utf8'));
  }
}

/** Sends `n` bodies, at most CONCURRENCY in flight, generated lazily in batches. */
async function run(n: number, seed: number, onProgress?: () => void): Promise<void> {
  const rnd = prng(seed);
  let batch: Buffer[] = [];
  let batchSeed = seed;
  let next = 0;
  const nextBody = (): Buffer | undefined => {
    if (next >= n) return undefined;
    if (next % BATCH === 0) batch = fc.sample(fuzzBody, { numRuns: BATCH, seed: batchSeed++ }).map((s) => (rnd() < 0.1 ? flipBytes(s.bytes, rnd) : s.bytes));
    return batch[next++ % BATCH];
  };
  const worker = async (): Promise<void> => {
    for (let body = nextBody(); body !== undefined; body = nextBody()) {
      await send(body);
      sent++;
      onProgress?.();
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

/** A full garbage collection in the ext_proc, through its inspector (HeapProfiler.collectGarbage). */
async function collectGarbage(): Promise<void> {
  const [target] = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as Array<{ webSocketDebuggerUrl: string }>;
  const ws = new WebSocket(target!.webSocketDebuggerUrl);
  await new Promise<void>((resolve, reject) => {
    ws.onerror = () => reject(new Error('inspector connection failed'));
    ws.onopen = () => ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
    ws.onmessage = (ev) => {
      if ((JSON.parse(String(ev.data)) as { id?: number }).id === 1) resolve();
    };
  });
  ws.close();
}

/** RSS after a full GC, once it has stopped falling (V8 gives pages back lazily), up to `maxMs`. */
async function settledRss(maxMs: number): Promise<number> {
  await collectGarbage();
  let last = rssBytes(extprocPid);
  for (let waited = 0; waited < maxMs; waited += 2_000) {
    await sleep(2_000);
    await collectGarbage();
    const now = rssBytes(extprocPid);
    if (now >= last - 1024 * 1024) return Math.min(now, last);
    last = now;
  }
  return last;
}

let exitCode = 1;
try {
  // Baseline after a warm-up: the JIT, pools and caches the service keeps are not a leak.
  await run(WARMUP, SEED + 1_000_003);
  const baseline = await settledRss(20_000);
  console.log(`warm-up: ${WARMUP} requests; ext_proc RSS baseline ${mb(baseline)}`);
  sent = 0;
  statuses.clear();
  clientErrors.clear();
  let peak = baseline;
  const t0 = Date.now();
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssBytes(extprocPid));
    process.stdout.write(`\r  ${sent}/${COUNT} sent, ${Math.round(sent / ((Date.now() - t0) / 1000))} req/s, RSS ${mb(rssBytes(extprocPid))}   `);
  }, 2_000);
  await run(COUNT, SEED);
  clearInterval(sampler);
  const seconds = (Date.now() - t0) / 1000;
  const after = await settledRss(60_000);
  process.stdout.write('\n');

  if (stack.extproc.process.pid !== extprocPid) crashes.push(`ext_proc replaced: pid ${extprocPid} → ${stack.extproc.process.pid}`);
  const leaked = after > baseline + RSS_SLACK_BYTES;
  const total = [...statuses.values()].reduce((a, b) => a + b, 0);
  console.log(`requests: ${sent} in ${seconds.toFixed(0)} s (${Math.round(sent / seconds)} req/s); answered ${total}`);
  console.log(`statuses: ${[...statuses].sort().map(([s, n]) => `${s}×${n}`).join(' ')}`);
  console.log(`hangs (no answer in ${TIMEOUT_MS} ms): ${hangs}; crashes: ${crashes.length ? crashes.join('; ') : 0}`);
  console.log(`ext_proc RSS: baseline ${mb(baseline)}, peak ${mb(peak)}, after ${mb(after)}${leaked ? ` — not back within ${mb(RSS_SLACK_BYTES)}` : ' (back to baseline)'}`);
  const top = [...clientErrors].sort((x, y) => y[1] - x[1]).slice(0, 10);
  console.log(`most frequent 4xx: ${top.map(([k, n]) => `${k} ×${n}`).join('; ')}`);
  for (const [kind, f] of failures) console.log(`FAIL ${kind} ×${f.count}, e.g. ${JSON.stringify(f.example)}`);
  exitCode = failures.size === 0 && hangs === 0 && crashes.length === 0 && !leaked && total === sent ? 0 : 1;
  console.log(exitCode === 0 ? 'fuzz: passed' : 'fuzz: FAILED');
} finally {
  stopping = true;
  await pool.close();
  await stack.stop();
  if (exitCode === 0) rmSync(runDir, { recursive: true, force: true });
}
process.exit(exitCode);
