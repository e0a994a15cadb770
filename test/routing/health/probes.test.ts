import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, it, mock } from 'node:test';
import { buildRuntimeConfig } from '../../../src/config/runtime.ts';
import { gatewayConfigSchema } from '../../../src/config/schema.ts';
import { GatewayError, UpstreamError } from '../../../src/errors/gateway-error.ts';
import { Exchange } from '../../../src/exchange/exchange.ts';
import { healthSchema } from '../../../src/routing/health/breaker-schema.ts';
import { pinProbe, probeModel } from '../../../src/routing/health/probes/pin.ts';
import { PROBE_NOT_GRANTED_CODE, httpProbeSender } from '../../../src/routing/health/probes/send.ts';
import { PROBE_HEADER, PROBE_TARGET_HEADER, ProbeGate } from '../../../src/routing/health/probes/probe-gate.ts';
import { probesSchema, type ProbesConfig } from '../../../src/routing/health/probes/probes-schema.ts';
import { ActiveProbes, probeTargetsOf, type ProbeOutcome, type ProbeTarget } from '../../../src/routing/health/probes/scheduler.ts';
import { T0, health, json } from './fixture.ts';

const A: ProbeTarget = { key: 'a/x', model: 'm' };
const B: ProbeTarget = { key: 'b/y', model: 'm' };
const cfg = (intervalMs = 10_000): ProbesConfig => probesSchema.parse({ intervalMs });

/** An ActiveProbes on a LocalHealth and a test clock; sends stay pending until `finish`. */
function rig(config: unknown = {}) {
  const { h } = health(config);
  let now = T0;
  const sent: Array<{ target: ProbeTarget; config: ProbesConfig; resolve: (o: ProbeOutcome) => void; signal: AbortSignal }> = [];
  const outcomes: string[] = [];
  const probes = new ActiveProbes({
    health: h,
    now: () => now,
    timer: false,
    send: (target, config, signal) => new Promise<ProbeOutcome>((resolve) => sent.push({ target, config, resolve, signal })),
    onOutcome: (t, o) => outcomes.push(`${t.key}:${o}`),
  });
  return {
    h,
    probes,
    sent,
    outcomes,
    at: (ms: number) => (now = T0 + ms),
    keys: (ts: ProbeTarget[]) => ts.map((t) => t.key),
  };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('routing.health.probes config', () => {
  it('is off when absent, defaults when present, and refuses bad values', () => {
    assert.equal(healthSchema.parse({}).probes, undefined);
    assert.deepEqual(healthSchema.parse({ probes: { intervalMs: 60_000 } }).probes, { intervalMs: 60_000, maxTokens: 1, prompt: 'ping', stream: false });
    assert.throws(() => healthSchema.parse({ probes: {} }), /intervalMs/);
    assert.throws(() => healthSchema.parse({ probes: { intervalMs: 500 } }), /at least 1000 ms/);
    assert.throws(() => healthSchema.parse({ probes: { intervalMs: 60_000, maxTokens: 1000 } }), /at most 64/);
    assert.throws(() => healthSchema.parse({ probes: { intervalMs: 60_000, everyMs: 5 } }), /everyMs/);
  });
});

describe('ActiveProbes', () => {
  it('sends nothing while off (the default), whatever the clock', () => {
    const r = rig();
    r.probes.configure(undefined, [A, B]);
    r.at(10 * 60_000);
    assert.deepEqual(r.probes.tick(), []);
    assert.equal(r.probes.enabled, false);
  });

  it('probes only targets idle for the interval: a target real traffic keeps measured gets none', () => {
    const r = rig();
    r.probes.configure(cfg(10_000), [A, B]);
    r.at(10_000);
    assert.deepEqual(r.probes.tick(), [], 'no burst at start: never-recorded targets are idle from when probes were turned on');
    r.h.record({ ...json(T0 + 9_000, 100), key: A.key });
    r.at(10_001);
    assert.deepEqual(r.keys(r.probes.tick()), ['b/y'], 'A answered 1 s ago, B never');
    assert.deepEqual(r.sent.map((s) => [s.target.key, s.config.maxTokens, s.config.prompt]), [['b/y', 1, 'ping']]);
    r.at(19_000);
    assert.deepEqual(r.probes.tick(), [], 'A is idle for exactly 10 s at 19 s: not longer');
    r.at(19_001);
    assert.deepEqual(r.keys(r.probes.tick()), ['a/x']);
  });

  it('keeps one probe in flight per target, and reports each outcome', async () => {
    const r = rig();
    r.probes.configure(cfg(10_000), [A]);
    r.at(10_001);
    assert.equal(r.probes.tick().length, 1);
    r.at(60_002);
    assert.deepEqual(r.probes.tick(), [], 'the first has not ended');
    assert.equal(r.probes.pending, 1);
    r.sent[0]!.resolve('ok');
    await flush();
    assert.deepEqual(r.outcomes, ['a/x:ok']);
    assert.equal(r.probes.pending, 0);
    assert.equal(r.probes.tick().length, 1, 'ended, and the last probe started 50 s ago');
    r.sent[1]!.resolve('error');
    await flush();
    assert.deepEqual(r.outcomes, ['a/x:ok', 'a/x:error']);
    r.at(70_002);
    assert.deepEqual(r.probes.tick(), [], 'a probe that recorded nothing still counts: no retry before the interval');
  });

  it('a send that throws is an unreachable outcome, not a crash', async () => {
    const outcomes: string[] = [];
    const { h } = health();
    let now = T0;
    const probes = new ActiveProbes({ health: h, now: () => now, timer: false, send: () => { throw new Error('boom'); }, onOutcome: (t, o) => outcomes.push(`${t.key}:${o}`) });
    probes.configure(cfg(), [A]);
    now = T0 + 10_001;
    assert.equal(probes.tick().length, 1);
    await flush();
    assert.deepEqual(outcomes, ['a/x:unreachable']);
  });

  it('skips a target whose breaker is open; probes a half-open one (the router then asks tryProbe)', () => {
    const r = rig({ breaker: { latency: { thresholdMs: 1000, consecutive: 1, openMs: 30_000 } } });
    r.probes.configure(cfg(10_000), [A, B]);
    r.h.record({ ...json(T0 + 1, 5000), key: A.key });
    assert.equal(r.h.get(A.key, T0 + 1).breaker, 'open');
    r.at(20_000);
    assert.deepEqual(r.keys(r.probes.tick()), ['b/y'], 'A is open (and recorded 20 s ago)');
    r.at(31_000);
    assert.equal(r.h.get(A.key, T0 + 31_000).breaker, 'half-open');
    assert.deepEqual(r.keys(r.probes.tick()), ['a/x']);
  });

  it('follows reloads: off stops, a new interval applies, removed targets are dropped', () => {
    const r = rig();
    r.probes.configure(cfg(10_000), [A, B]);
    r.probes.configure(undefined, [A, B]);
    r.at(30_000);
    assert.deepEqual(r.probes.tick(), []);
    r.probes.configure(cfg(60_000), [A]);
    r.at(90_000);
    assert.deepEqual(r.probes.tick(), [], 'turned on again at 30 s: idle since then');
    r.at(90_001);
    assert.deepEqual(r.keys(r.probes.tick()), ['a/x'], 'B is no longer configured');
  });

  it('stop() aborts the probes in flight and reports nothing for them', async () => {
    const r = rig();
    r.probes.configure(cfg(), [A]);
    r.at(10_001);
    r.probes.tick();
    r.probes.stop();
    assert.equal(r.sent[0]!.signal.aborted, true);
    r.sent[0]!.resolve('unreachable');
    await flush();
    assert.deepEqual(r.outcomes, []);
    assert.equal(r.probes.enabled, false);
  });

  it('with its timer: ticks every intervalMs / 4, and a reload to off stops it', () => {
    mock.timers.enable({ apis: ['setInterval'] });
    try {
      const { h } = health();
      let now = T0;
      const sent: string[] = [];
      const probes = new ActiveProbes({ health: h, now: () => now, send: (t) => (sent.push(t.key), new Promise(() => {})) });
      probes.configure(cfg(4_000), [A]);
      now = T0 + 4_001;
      mock.timers.tick(999);
      assert.deepEqual(sent, []);
      mock.timers.tick(1);
      assert.deepEqual(sent, ['a/x']);
      probes.configure(undefined, [A]);
      probes.configure(cfg(4_000), [B]);
      probes.stop();
      now = T0 + 100_000;
      mock.timers.tick(10_000);
      assert.deepEqual(sent, ['a/x']);
    } finally {
      mock.timers.reset();
    }
  });
});

describe('probe targets and the probe gate', () => {
  it('each configured target once, with the first model that has it', () => {
    const file = gatewayConfigSchema.parse({
      providers: { a: { dialect: 'openai', apiKeyEnv: 'K' }, b: { dialect: 'openai', apiKeyEnv: 'K' } },
      models: {
        m1: { targets: [{ provider: 'a', model: 'x', pricing: { free: true } }, { provider: 'b', model: 'x', pricing: { free: true } }], aliases: ['fast'] },
        m2: { targets: [{ provider: 'b', model: 'x', pricing: { free: true } }, { provider: 'a', model: 'z', pricing: { free: true } }] },
      },
      keys: [{ name: 'k', fromEnv: 'K' }],
    });
    const config = buildRuntimeConfig(file, 't.yaml', { K: 'secret' }, 1);
    assert.deepEqual(probeTargetsOf(config).map((t) => [t.key, t.model]), [['a/x', 'm1'], ['b/x', 'm1'], ['a/z', 'm2']]);
  });

  it('recognises only its own secret', () => {
    const gate = new ProbeGate();
    assert.equal(gate.recognise(gate.secret, 'a/x'), 'a/x');
    assert.equal(gate.recognise(new ProbeGate().secret, 'a/x'), undefined, "another process's secret");
    assert.equal(gate.recognise(gate.secret.slice(1), 'a/x'), undefined);
    assert.equal(gate.recognise(undefined, 'a/x'), undefined);
    assert.equal(gate.recognise(gate.secret, undefined), undefined);
    assert.ok(gate.secret.length >= 43, '32 random bytes');
  });
});

describe('pinProbe (the router\'s probe path)', () => {
  const file = gatewayConfigSchema.parse({
    providers: { a: { dialect: 'openai', apiKeyEnv: 'K' }, b: { dialect: 'openai', apiKeyEnv: 'K' } },
    models: { m: { targets: [{ provider: 'a', model: 'x', pricing: { free: true } }, { provider: 'b', model: 'y', pricing: { free: true } }], timeouts: { firstByteMs: 5000 } } },
    keys: [{ name: 'k', fromEnv: 'K' }],
  });
  const config = buildRuntimeConfig(file, 't.yaml', { K: 'secret' }, 1);
  const exchange = (target: string): Exchange => {
    const ex = new Exchange(config, undefined);
    ex.model = probeModel(config, 'm');
    ex.probeTarget = target;
    return ex;
  };

  it('pins the plan to the one target, no failover, with the model\'s timeouts', () => {
    const ex = exchange('b/y');
    pinProbe(ex, health().h, T0);
    assert.deepEqual(ex.plan!.targets, [1]);
    assert.equal(ex.plan!.headers['x-envoy-max-retries'], '0');
    assert.equal(ex.plan!.headers['x-llmx-try-1'], 'b');
    assert.equal(ex.plan!.headers['x-envoy-upstream-rq-per-try-timeout-ms'], '5000');
    assert.deepEqual(ex.probes, [], 'a closed breaker: no half-open probe taken');
  });

  it('takes a half-open breaker\'s one probe through tryProbe, and is refused (503, nothing sent) when a caller holds it', () => {
    const { h } = health({ breaker: { latency: { thresholdMs: 1000, consecutive: 1, openMs: 30_000 } } });
    h.record({ ...json(T0, 5000), key: 'a/x' });
    const now = T0 + 31_000;
    const first = exchange('a/x');
    pinProbe(first, h, now);
    assert.deepEqual(first.probes, ['a/x'], 'the grant is on the exchange, for finish to give back if unused');
    assert.throws(() => pinProbe(exchange('a/x'), h, now), (err: unknown) => err instanceof UpstreamError && err.status === 503 && err.code === PROBE_NOT_GRANTED_CODE);
    h.releaseProbe('a/x');
    pinProbe(exchange('a/x'), h, now);
  });

  it('an unknown model or target is a 400, never a guess', () => {
    assert.throws(() => probeModel(config, 'nope'), (err: unknown) => err instanceof GatewayError && err.status === 400);
    assert.throws(() => pinProbe(exchange('c/z'), health().h, T0), (err: unknown) => err instanceof GatewayError && err.status === 400 && err.code === 'probe_target_unknown');
  });
});

describe('httpProbeSender', () => {
  it('posts the probe to the listener and reads the answer into an outcome', async () => {
    const seen: Array<{ headers: Record<string, unknown>; body: Record<string, unknown> }> = [];
    let reply: { status: number; body: string } = { status: 200, body: '{}' };
    const server = createServer((req, res) => {
      let text = '';
      req.on('data', (d: Buffer) => (text += d.toString('utf8')));
      req.on('end', () => {
        seen.push({ headers: req.headers, body: JSON.parse(text) as Record<string, unknown> });
        res.writeHead(reply.status, { 'content-type': 'application/json' }).end(reply.body);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const gate = new ProbeGate();
    const send = httpProbeSender(`http://127.0.0.1:${port}/`, gate);
    const signal = new AbortController().signal;
    try {
      assert.equal(await send(A, cfg(), signal), 'ok');
      assert.deepEqual(seen[0]!.body, { model: 'm', messages: [{ role: 'user', content: 'ping' }], max_tokens: 1 });
      assert.equal(seen[0]!.headers[PROBE_HEADER], gate.secret);
      assert.equal(seen[0]!.headers[PROBE_TARGET_HEADER], 'a/x');
      assert.equal(await send(A, probesSchema.parse({ intervalMs: 1000, stream: true }), signal), 'ok');
      assert.equal(seen[1]!.body['stream'], true);
      reply = { status: 200, body: 'data: {"error":{"message":"x","type":"api_error","param":null,"code":"upstream_error"}}\n\n' };
      assert.equal(await send(A, probesSchema.parse({ intervalMs: 1000, stream: true }), signal), 'error', "a stream ending with an error event");
      reply = { status: 502, body: '{"error":{}}' };
      assert.equal(await send(A, cfg(), signal), 'error');
      reply = { status: 503, body: `{"error":{"code":"${PROBE_NOT_GRANTED_CODE}"}}` };
      assert.equal(await send(A, cfg(), signal), 'not_granted');
    } finally {
      await new Promise((r) => server.close(r));
    }
    assert.equal(await send(A, cfg(), signal), 'unreachable', 'nothing listens any more');
  });
});
