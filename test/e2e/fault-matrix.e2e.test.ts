import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import type { Fault, SimFormat } from '../../src/simulator/index.ts';
import { startTestStack, type TestStack } from '../support/e2e.ts';

/**
 * Issue 12's fault matrix through the real Envoy: every provider fault × stream / non-stream ×
 * a model with one target and one with failover. The fault hits the model's first target; any
 * later target is healthy. Each cell asserts: no hang (a bounded deadline), Envoy and the
 * ext_proc still alive (same processes), the healthy target's answer whenever Envoy can still
 * fail over (the fault came before the provider's response head), otherwise an OpenAI error
 * with the README's status (non-stream, or a stream refused before its head) or an error the SDK
 * surfaces mid-stream (never a clean end), and a log line whose outcome and status say what the
 * caller got. FAULT_MATRIX_TABLE=FILE writes the observed outcomes as the README's table.
 *
 * Envoy's per-try idle/attempt timeouts are shortened (a rendered copy of envoy/envoy.yaml) so
 * the stall rows take seconds, not minutes.
 */

const PROJECT = path.resolve(import.meta.dirname, '../..');
/** Envoy's per_try_idle_timeout in this test: the stalls below are longer. */
const IDLE_TIMEOUT_S = 1;
const STALL_MS = 2_500;
/** No cell may take longer than this (the longest legitimate one is about one stall). */
const CELL_DEADLINE_MS = 15_000;

interface ModelRow {
  model: string;
  /** Simulators of the targets, in plan order. */
  sims: readonly string[];
}

const MODELS: readonly ModelRow[] = [
  { model: 'claude-sonnet-4-5', sims: ['anthropic'] },
  { model: 'gemini-2.5-flash', sims: ['gemini'] },
  { model: 'gpt-4o-mini', sims: ['openai-primary', 'openai-backup'] },
  { model: 'chat-default', sims: ['anthropic', 'gemini', 'openai-primary'] },
];

const FORMAT: Record<string, SimFormat> = { anthropic: 'anthropic', gemini: 'gemini', 'openai-primary': 'openai', 'openai-backup': 'openai' };

/** What the caller of a single-target model gets for a fault before the response head. */
interface CallerError {
  status: number;
  code: string;
  retryAfter?: string;
}

interface FaultRow {
  name: string;
  /** `head`: the fault comes before the provider's response head, so Envoy can still retry. */
  when: 'head' | 'body';
  fault(format: SimFormat, stream: boolean): Fault;
  /** For `head` faults: the error a single-target model's caller gets. */
  single?: CallerError;
  /** For `body` faults: the error code of the OpenAI error (event) the caller gets; undefined for a cut connection. */
  bodyCode?: string;
  /** For `body` faults: what a non-stream caller gets when it is not the gateway's 502 `upstream_malformed`. */
  nonStreamError?: CallerError;
  /** Whether the row runs for non-stream requests (false: a JSON answer has no events). */
  nonStream: boolean;
  /** Stalls run last: another part of issue 12 is fixing an Envoy crash after per-try idle timeouts. */
  stall?: boolean;
}

const SSE_HEAD: Record<SimFormat, string> = {
  anthropic:
    'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":9,"output_tokens":1}}}\n\n' +
    'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n' +
    'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello, this is"}}\n\n',
  gemini:
    'data: {"candidates":[{"content":{"parts":[{"text":"Hello, this is"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":3,"totalTokenCount":12},"modelVersion":"gemini-2.5-flash"}\r\n\r\n',
  openai:
    'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1764460800,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":"Hello, this is"},"finish_reason":null}]}\n\n',
};
const SSE_TYPE: Record<SimFormat, string> = { anthropic: 'text/event-stream; charset=utf-8', gemini: 'text/event-stream', openai: 'text/event-stream; charset=utf-8' };

/** A 200 answer cut short (SSE events without the end; JSON cut mid-value), or with a broken event. */
function replay(format: SimFormat, stream: boolean, broken: 'truncated' | 'malformed'): Fault {
  if (!stream) {
    const body = broken === 'truncated' ? '{"id":"resp_01","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hel' : '{"id": resp_01, <html>';
    return { replay: { status: 200, contentType: 'application/json', body } };
  }
  const bad = format === 'anthropic' ? 'event: content_block_delta\ndata: {"type":"content_block_delta",\n\n' : 'data: {"candidates":[{"content":\n\n';
  return { replay: { status: 200, contentType: SSE_TYPE[format], body: SSE_HEAD[format] + (broken === 'malformed' ? bad : '') } };
}

const FAULTS: readonly FaultRow[] = [
  { name: '429 with retry-after', when: 'head', fault: () => ({ status: 429, retryAfter: 3 }), single: { status: 429, code: 'rate_limit_exceeded', retryAfter: '3' }, nonStream: true },
  { name: '429 without retry-after', when: 'head', fault: () => ({ status: 429 }), single: { status: 429, code: 'rate_limit_exceeded' }, nonStream: true },
  { name: '500', when: 'head', fault: () => ({ status: 500 }), single: { status: 502, code: 'upstream_error' }, nonStream: true },
  { name: '503', when: 'head', fault: () => ({ status: 503, retryAfter: 2 }), single: { status: 503, code: 'server_is_overloaded', retryAfter: '2' }, nonStream: true },
  { name: '529', when: 'head', fault: () => ({ status: 529 }), single: { status: 503, code: 'server_is_overloaded' }, nonStream: true },
  { name: 'reset before headers', when: 'head', fault: () => ({ resetBeforeHeaders: true }), single: { status: 503, code: 'upstream_unavailable', retryAfter: '1' }, nonStream: true },
  {
    name: 'reset mid-stream',
    when: 'body',
    // Non-stream: the 200 head and the first 40 bytes of the JSON answer, then the reset.
    fault: (_, s) => (s ? { resetAfterEvents: 3, chunks: 6, chunkDelayMs: 50 } : { resetAfterBytes: 40 }),
    nonStreamError: { status: 503, code: 'upstream_unavailable', retryAfter: '1' },
    nonStream: true,
  },
  { name: 'in-stream error event', when: 'body', fault: () => ({ errorEventAfterEvents: 2, chunks: 6 }), nonStream: false },
  { name: 'truncated stream', when: 'body', fault: (f, s) => replay(f, s, 'truncated'), bodyCode: 'upstream_stream_truncated', nonStream: true },
  { name: 'malformed JSON', when: 'body', fault: (f, s) => replay(f, s, 'malformed'), bodyCode: 'upstream_malformed', nonStream: true },
  { name: 'stall before the first byte', when: 'head', fault: () => ({ latencyMs: STALL_MS }), single: { status: 504, code: 'upstream_timeout' }, nonStream: true, stall: true },
  {
    name: 'stall mid-stream',
    when: 'body',
    // Non-stream: the 200 head and the first 40 bytes of the JSON answer, then a pause past the idle timeout.
    fault: (_, s) => (s ? { chunks: 4, chunkDelayMs: STALL_MS } : { stallAfterBytes: 40, stallMs: STALL_MS }),
    nonStreamError: { status: 504, code: 'upstream_timeout' },
    nonStream: true,
    stall: true,
  },
];

/** Envoy's template with short per-try timeouts; fails loudly when a timeout it rewrites is gone. */
function shortTimeoutTemplate(): string {
  let text = readFileSync(path.join(PROJECT, 'envoy/envoy.yaml'), 'utf8');
  const rewrites: Array<[RegExp, string]> = [
    [/per_try_idle_timeout: \d+s/g, `per_try_idle_timeout: ${IDLE_TIMEOUT_S}s`],
    [/per_try_timeout: \d+s/g, 'per_try_timeout: 8s'],
  ];
  for (const [re, to] of rewrites) {
    assert.match(text, re, `envoy/envoy.yaml no longer has ${re.source}: update this test`);
    text = text.replace(re, to);
  }
  templateDir = mkdtempSync(path.join(tmpdir(), 'llmx-fault-matrix-'));
  const file = path.join(templateDir, 'envoy.yaml');
  writeFileSync(file, text);
  return file;
}

let templateDir: string | undefined;
let gw: TestStack;
let client: OpenAI;
let envoyExited = false;
let extprocPid: number | undefined;
const observed = new Map<string, string>();

before(async () => {
  gw = await startTestStack({ envoyTemplate: shortTimeoutTemplate() });
  client = new OpenAI({ apiKey: gw.demoKey, baseURL: `${gw.httpUrl}/v1`, maxRetries: 0, timeout: CELL_DEADLINE_MS });
  void gw.envoy.exited.then(() => (envoyExited = true));
  extprocPid = gw.extproc.process.pid;
});
after(async () => {
  if (process.env.FAULT_MATRIX_TABLE) writeFileSync(process.env.FAULT_MATRIX_TABLE, table());
  await gw?.dispose();
  if (templateDir) rmSync(templateDir, { recursive: true, force: true });
});

function resetSims(): void {
  for (const sim of Object.values(gw.sims)) sim.reset();
}

/** Rejects when `p` has not settled within the deadline: a hang is a failure, not a slow test. */
async function bounded<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`hang: ${what} not settled after ${CELL_DEADLINE_MS} ms`)), CELL_DEADLINE_MS)));
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function assertAlive(): Promise<void> {
  assert.equal(envoyExited, false, 'Envoy is still running');
  assert.equal(gw.extproc.process.pid, extprocPid, 'the same ext_proc process is serving (no crash, no restart)');
  const health = await fetch(`http://127.0.0.1:${gw.metricsPort}/healthz`);
  assert.equal(health.status, 200, 'ext_proc /healthz');
}

/** What the caller got, as one cell of the README table. */
type Got =
  | { kind: 'answer'; text: string; finish: string | null }
  | { kind: 'error'; status: number | undefined; code: string | null | undefined; retryAfter: string | null; beforeHead: boolean; chunks: number; err: unknown };

async function call(model: string, stream: boolean, clientId: string): Promise<Got> {
  const messages = [{ role: 'user' as const, content: 'Hello, fault matrix' }];
  const headers = { 'x-request-id': clientId };
  if (!stream) {
    try {
      const res = await client.chat.completions.create({ model, messages }, { headers });
      return { kind: 'answer', text: res.choices[0]?.message.content ?? '', finish: res.choices[0]?.finish_reason ?? null };
    } catch (err) {
      if (!(err instanceof OpenAI.APIError)) throw err;
      return { kind: 'error', status: err.status, code: err.code, retryAfter: err.headers?.get('retry-after') ?? null, beforeHead: true, chunks: 0, err };
    }
  }
  let opened;
  try {
    opened = await client.chat.completions.create({ model, messages, stream: true }, { headers }).withResponse();
  } catch (err) {
    if (!(err instanceof OpenAI.APIError)) throw err;
    return { kind: 'error', status: err.status, code: err.code, retryAfter: err.headers?.get('retry-after') ?? null, beforeHead: true, chunks: 0, err };
  }
  let text = '';
  let finish: string | null = null;
  let chunks = 0;
  try {
    for await (const c of opened.data) {
      chunks++;
      text += c.choices[0]?.delta.content ?? '';
      finish = c.choices[0]?.finish_reason ?? finish;
    }
  } catch (err) {
    const api = err instanceof OpenAI.APIError ? err : undefined;
    return { kind: 'error', status: api?.status, code: api?.code, retryAfter: null, beforeHead: false, chunks, err };
  }
  return { kind: 'answer', text, finish };
}

let cellNo = 0;

function runCell(row: FaultRow, m: ModelRow, stream: boolean): void {
  const failover = m.sims.length > 1;
  test(`${row.name} · ${stream ? 'stream' : 'non-stream'} · ${m.model}`, async () => {
    resetSims();
    const first = m.sims[0]!;
    gw.sims[first]!.enqueueFault(row.fault(FORMAT[first]!, stream));
    const clientId = `fault-matrix-${process.pid}-${++cellNo}`;
    const got = await bounded(call(m.model, stream, clientId), clientId);
    const line = await gw.requestLog(clientId, 'client_request_id');

    if (row.when === 'head' && failover) {
      // Envoy retried on the next target, which is healthy: the caller never sees the fault.
      assert.equal(got.kind, 'answer', `the healthy target answers: ${JSON.stringify(got)}`);
      assert.ok(got.text.length > 0 && got.finish === 'stop', 'a whole answer');
      assert.equal(gw.sims[m.sims[1]!]!.requests.length, 1, 'the second target served it');
      assert.equal(line['outcome'], 'completed');
      assert.equal(line['status'], 200);
      assert.equal(line['provider'], m.sims[1]);
      record(row, stream, failover, "the next target's answer", 'completed');
    } else if (row.when === 'head') {
      const want = row.single!;
      assert.equal(got.kind, 'error', `an OpenAI error: ${JSON.stringify(got)}`);
      assert.equal(got.beforeHead, true, 'refused before any stream began');
      assert.equal(got.status, want.status);
      assert.equal(got.code, want.code);
      if (want.retryAfter !== undefined) assert.equal(got.retryAfter, want.retryAfter, 'retry-after');
      const headers = got.err instanceof OpenAI.APIError ? got.err.headers : undefined;
      assert.ok(headers?.get('x-request-id'), 'every reply carries x-request-id');
      for (const name of headers?.keys() ?? []) assert.ok(!/^x-(llmx|envoy)-/.test(name), `internal header ${name} reached the caller`);
      assert.equal(line['outcome'], 'failed');
      assert.equal(line['status'], want.status);
      assert.equal(line['error_code'], want.code);
      record(row, stream, failover, `${want.status} \`${want.code}\`${want.retryAfter ? `, \`retry-after: ${want.retryAfter}\`` : ''}`, 'failed');
    } else if (!stream) {
      // A 200 head that Envoy already accepted: no retry, whatever the plan (Envoy retries only
      // before a response head). The ext_proc holds the head until the whole body is buffered,
      // so the caller gets an OpenAI error, never a cut 200: the gateway's 502 for an unreadable
      // body, or Envoy's own reply (503 on a reset, 504 on the per-try idle timeout).
      const want = row.nonStreamError ?? { status: 502, code: 'upstream_malformed' };
      assert.equal(got.kind, 'error', `an OpenAI error: ${JSON.stringify(got)}`);
      assert.equal(got.beforeHead, true);
      assert.equal(got.status, want.status);
      assert.equal(got.code, want.code);
      if (want.retryAfter !== undefined) assert.equal(got.retryAfter, want.retryAfter, 'retry-after');
      const headers = got.err instanceof OpenAI.APIError ? got.err.headers : undefined;
      assert.equal(headers?.get('x-request-id'), line['request_id'], "the reply carries the log line's x-request-id");
      for (const name of headers?.keys() ?? []) assert.ok(!/^x-(llmx|envoy)-/.test(name), `internal header ${name} reached the caller`);
      for (const sim of m.sims.slice(1)) assert.equal(gw.sims[sim]!.requests.length, 0, `no retry on ${sim} after the 200 head`);
      const caller = `${want.status} \`${want.code}\`${want.retryAfter ? `, \`retry-after: ${want.retryAfter}\`` : ''}`;
      // Envoy's own reply after the upstream's 200 head never passes the ext_proc; its access
      // log tells the ext_proc, so the line has the caller's status and code all the same.
      assert.equal(line['outcome'], 'failed');
      assert.equal(line['status'], want.status);
      assert.equal(line['error_code'], want.code);
      record(row, stream, failover, caller, 'failed');
    } else {
      // The stream had begun (200 and chunks sent): the caller gets an error, never a clean end.
      assert.equal(got.kind, 'error', `the stream does not end cleanly: ${JSON.stringify(got)}`);
      assert.equal(got.beforeHead, false);
      // A stall between the first events may come before any chunk (Anthropic's first events carry none).
      if (row.stall !== true) assert.ok(got.chunks > 0, 'the stream had started');
      if (row.bodyCode !== undefined || row.name === 'in-stream error event') {
        // Envoy lets the gateway write: an OpenAI error event, then a clean end of the body.
        assert.ok(got.err instanceof OpenAI.APIError, `the SDK raises the error event: ${String(got.err)}`);
        if (row.bodyCode !== undefined) assert.equal(got.code, row.bodyCode);
        assert.equal(line['outcome'], 'failed');
        assert.equal(line['error_code'], got.code);
        assert.ok((line['status'] as number) >= 429, `the error's status, not 200: ${String(line['status'])}`);
        const event = row.bodyCode ? `an error event \`${row.bodyCode}\`` : "the provider's error as an OpenAI error event (mapped by the table above)";
        record(row, stream, failover, `chunks, then ${event}`, row.bodyCode ? `failed (${String(line['status'])})` : "failed (the error's status)");
      } else {
        // An upstream reset or idle timeout after the head: Envoy resets the caller's stream itself.
        assert.ok(!(got.err instanceof OpenAI.APIError) || got.status === undefined, 'a transport error, not an answer');
        assert.equal(line['outcome'], 'aborted');
        assert.equal(line['status'], 200, 'the status the caller got');
        // Why, from Envoy's access log: its response flags.
        const why = row.stall === true ? 'upstream_timeout' : 'upstream_reset';
        assert.equal(line['error_code'], why);
        record(row, stream, failover, 'the 200 head (and chunks, if any), then Envoy cuts the connection: the SDK throws', `aborted (\`${why}\`)`);
      }
    }
    await assertAlive();
  });
}

function record(row: FaultRow, stream: boolean, failover: boolean, what: string, outcome: string): void {
  const key = `${row.name}|${stream ? 'stream' : 'non-stream'}|${failover ? 'failover' : 'single'}`;
  const cell = `${what} → ${outcome}`;
  const prev = observed.get(key);
  // Both models of a kind must behave alike; the table shows one cell for them.
  assert.ok(prev === undefined || prev === cell, `${key}: ${prev} vs ${cell}`);
  observed.set(key, cell);
}

function table(): string {
  const lines = ['| provider fault (first target) | request | one target: the caller gets → outcome | with failover: the caller gets → outcome |', '|---|---|---|---|'];
  for (const row of FAULTS) {
    for (const mode of ['non-stream', 'stream']) {
      const cell = (kind: string): string => observed.get(`${row.name}|${mode}|${kind}`) ?? (mode === 'non-stream' && !row.nonStream ? 'n/a (a JSON answer has no events)' : 'not run');
      lines.push(`| ${row.name} | ${mode} | ${cell('single')} | ${cell('failover')} |`);
    }
  }
  return `${lines.join('\n')}\n`;
}

for (const stall of [false, true]) {
  describe(stall ? 'stalls (per-try idle timeout)' : 'provider faults', () => {
    for (const row of FAULTS.filter((r) => (r.stall === true) === stall)) {
      for (const stream of [false, true]) {
        if (!stream && !row.nonStream) continue;
        for (const m of MODELS) runCell(row, m, stream);
      }
    }
  });
}


describe('after the matrix', () => {
  test('gateway_requests_total says what the log lines say: outcome and status per model', async () => {
    // This stack served only this file's requests: every log line is one count in the metric.
    const counts = new Map<string, { labels: Record<string, string>; n: number }>();
    for (const l of gw.logLines().filter((x) => x['msg'] === 'request' && typeof x['model'] === 'string')) {
      const labels = { model: String(l['model']), status: String(l['status']), stream: String(l['stream'] === true), outcome: String(l['outcome']) };
      const key = JSON.stringify(labels);
      counts.set(key, { labels, n: (counts.get(key)?.n ?? 0) + 1 });
    }
    assert.ok([...counts.values()].some((c) => c.labels.outcome === 'aborted'), 'aborted streams are counted as such');
    assert.ok([...counts.values()].some((c) => c.labels.outcome === 'failed' && c.labels.stream === 'true' && c.labels.status !== '200'), 'failed streams carry their error status');
    for (const { labels, n } of counts.values()) assert.equal(await gw.metric('gateway_requests_total', labels), n, JSON.stringify(labels));
  });


  test('the gateway still answers, streamed and not', async () => {
    resetSims();
    await assertAlive();
    for (const m of MODELS) {
      const got = await bounded(call(m.model, true, `fault-matrix-after-${m.model}`), m.model);
      assert.equal(got.kind, 'answer');
      const plain = await bounded(call(m.model, false, `fault-matrix-after-plain-${m.model}`), m.model);
      assert.equal(plain.kind, 'answer');
    }
  });
});
