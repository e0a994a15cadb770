import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { Agent, fetch as undiciFetch } from 'undici';
import type { Fault } from '../../src/simulator/index.ts';
import { startTestStack, type TestStack } from '../support/e2e.ts';
import { H2FrameClient, type H2Reply } from '../support/h2-frames.ts';

/**
 * Provider resets mid-stream, as an HTTP/2 caller on the TLS listener sees them, frame by frame
 * (README, "Provider faults, and what the caller gets"). Once the provider's 200 head is in,
 * Envoy's router cannot retry and, when the upstream stream is reset, either answers itself
 * (503 `upstream_unavailable`, while the gateway still holds the response head) or, once the
 * head went to the caller, resets the caller's stream (RST_STREAM INTERNAL_ERROR): the ext_proc
 * gets no message for an upstream reset, so nothing can write an error event after it. What
 * is guaranteed, and asserted for every request: the HEADERS frame (a status and
 * x-request-id) always comes first, and the stream ends in an error, never a clean end.
 */

const RESETS_PER_DIALECT = 40;
const NGHTTP2_NO_ERROR = 0;
const NGHTTP2_INTERNAL_ERROR = 2;

const DIALECTS = [
  { sim: 'anthropic', model: 'claude-sonnet-4-5' },
  { sim: 'gemini', model: 'gemini-2.5-flash' },
  { sim: 'openai-primary', model: 'gpt-4o-mini' },
] as const;

let gw: TestStack;
let ca: Buffer;

before(async () => {
  gw = await startTestStack();
  ca = readFileSync(gw.certs.caCert);
});
after(async () => {
  await gw?.dispose();
});

function resetSims(): void {
  for (const sim of Object.values(gw.sims)) sim.reset();
}

function chatHeaders(): Record<string, string> {
  return { ':method': 'POST', ':path': '/v1/chat/completions', authorization: `Bearer ${gw.demoKey}`, 'content-type': 'application/json' };
}

function streamBody(model: string): string {
  return JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: 'Hello, resets' }] });
}

/** A reset at different points: right after the head, or after 1–3 events, with and without pauses between them. */
function faultFor(i: number, resetCode?: number): Fault {
  const f: Fault = { resetAfterEvents: i % 4, chunks: 6, chunkDelayMs: [0, 0, 5, 20][Math.floor(i / 4) % 4]! };
  if (resetCode !== undefined) f.resetCode = resetCode;
  return f;
}

/** Which of the two replies the caller got (anything else fails the assertion). */
type Kind = 'envoy 503' | '200 then reset';

/**
 * The guarantee for one reset, on the wire: HEADERS first, carrying a status and the request's
 * x-request-id; then either Envoy's own 503 (an OpenAI error body, retry-after, a clean end: the
 * reset came while the gateway held the provider's head) or the 200 stream (whole chunks, never
 * `[DONE]` or a clean end) cut by RST_STREAM with an error code.
 */
function assertResetReply(r: H2Reply, what: string): Kind {
  const trace = `${what}: ${JSON.stringify(r.frames)} ${JSON.stringify(r.body.slice(0, 300))}`;
  assert.ok(r.frames.length > 0, `the stream carried frames: ${trace}`);
  assert.equal(r.frames[0]!.type, 'HEADERS', `HEADERS come first, never a bare RST_STREAM: ${trace}`);
  assert.ok(r.status !== undefined, `a status: ${trace}`);
  assert.match(r.headers['x-request-id'] ?? '', /\S/, `x-request-id: ${trace}`);
  for (const name of Object.keys(r.headers)) assert.ok(!/^x-(llmx|envoy)-/.test(name), `internal header ${name} reached the caller`);
  const rst = r.frames.filter((f) => f.type === 'RST_STREAM');

  if (r.status === 503) {
    // The reset beat the gateway's answer to the provider's head: Envoy answers itself.
    assert.equal(rst.length, 0, `a whole reply, not a reset: ${trace}`);
    assert.ok(r.frames.at(-1)!.endStream, `the 503 ends cleanly: ${trace}`);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['retry-after'], '1');
    const err = (JSON.parse(r.body) as { error: { code: string; type: string } }).error;
    assert.equal(err.code, 'upstream_unavailable');
    assert.equal(err.type, 'service_unavailable_error');
    return 'envoy 503';
  }
  assert.equal(r.status, 200, `either Envoy's 503 or the stream's 200: ${trace}`);
  assert.match(r.headers['content-type'] ?? '', /^text\/event-stream/);
  assert.ok(!r.frames.some((f) => f.endStream), `never END_STREAM on a cut stream: ${trace}`);
  assert.equal(rst.length, 1, `the stream ends with one RST_STREAM: ${trace}`);
  assert.equal(r.frames.at(-1)!.type, 'RST_STREAM', trace);
  // NO_ERROR would let an HTTP/2 client take the cut stream for a complete one.
  assert.notEqual(rst[0]!.errorCode, NGHTTP2_NO_ERROR, trace);
  assert.equal(rst[0]!.errorCode, NGHTTP2_INTERNAL_ERROR, trace);
  assert.equal(r.rstCode, NGHTTP2_INTERNAL_ERROR, 'Node reports the reset');
  // What did arrive is whole OpenAI chunks: no error event (nothing could write one), no [DONE].
  const events = r.body.split('\n\n');
  assert.equal(events.pop(), '', `no partial event: ${trace}`);
  for (const e of events) {
    assert.ok(e.startsWith('data: ') && e !== 'data: [DONE]', `a chunk event: ${e}`);
    const chunk = JSON.parse(e.slice(6)) as { object?: string; error?: unknown };
    assert.equal(chunk.error, undefined, `no error event: ${e}`);
    assert.equal(chunk.object, 'chat.completion.chunk');
  }
  return '200 then reset';
}

/** The request's log line never claims an answer; a cut stream is `aborted`. */
async function assertLogged(r: H2Reply, kind: Kind): Promise<void> {
  const line = await gw.requestLog(r.headers['x-request-id']);
  assert.notEqual(line['outcome'], 'completed', `logged as ${String(line['outcome'])}`);
  if (kind === '200 then reset') assert.equal(line['outcome'], 'aborted');
  // Envoy's 503 after the provider's head: `failed` with that status once the gateway learns it
  // from Envoy, else `aborted` (README, "Provider faults").
  else if (line['outcome'] === 'failed') assert.equal(line['status'], 503);
  else assert.equal(line['outcome'], 'aborted');
}

describe('HTTP/2 + TLS: provider resets mid-stream', () => {
  for (const d of DIALECTS) {
    test(`${RESETS_PER_DIALECT} resets · ${d.sim} (${d.model}): HEADERS first, then an error, never a clean end`, async (t) => {
      resetSims();
      const shared = new H2FrameClient(gw.httpsUrl, ca);
      const seen: Record<Kind, number> = { 'envoy 503': 0, '200 then reset': 0 };
      let coalesced = 0;
      try {
        for (let i = 0; i < RESETS_PER_DIALECT; i++) {
          gw.sims[d.sim]!.enqueueFault(faultFor(i));
          // Half on a fresh TLS connection (as curl does), half multiplexed on one.
          const fresh = i % 2 === 0 ? new H2FrameClient(gw.httpsUrl, ca) : undefined;
          let r: H2Reply;
          try {
            r = await (fresh ?? shared).request(chatHeaders(), streamBody(d.model));
          } finally {
            await fresh?.close();
          }
          const kind = assertResetReply(r, `${d.sim} #${i}`);
          seen[kind]++;
          const rst = r.frames.find((f) => f.type === 'RST_STREAM');
          if (rst && rst.read === r.frames[0]!.read) coalesced++;
          await assertLogged(r, kind);
        }
      } finally {
        await shared.close();
      }
      assert.equal(gw.sims[d.sim]!.requests.length, RESETS_PER_DIALECT, 'every request reached the provider once (no retry after its head)');
      t.diagnostic(`${d.sim}: ${seen['envoy 503']} × Envoy's 503, ${seen['200 then reset']} × 200 then RST_STREAM (${coalesced} with HEADERS and RST_STREAM in one TLS read)`);
    });
  }

  // RST_STREAM(NO_ERROR) mid-body is not a complete response (Envoy's http_preserve_rst_no_error
  // keeps only responses already ended): every upstream code becomes the caller's INTERNAL_ERROR.
  for (const code of [NGHTTP2_NO_ERROR, 7 /* REFUSED_STREAM */, 8 /* CANCEL */]) {
    test(`the provider's RST_STREAM code ${code} mid-stream: still an error for the caller`, async () => {
      resetSims();
      const client = new H2FrameClient(gw.httpsUrl, ca);
      try {
        for (let i = 0; i < 8; i++) {
          gw.sims.anthropic!.enqueueFault(faultFor(i + 1, code));
          const r = await client.request(chatHeaders(), streamBody('claude-sonnet-4-5'));
          await assertLogged(r, assertResetReply(r, `code ${code} #${i}`));
        }
      } finally {
        await client.close();
      }
    });
  }

  test('a reset stream leaves the other streams on the same connection alone', async () => {
    resetSims();
    gw.sims.anthropic!.enqueueFault({ resetAfterEvents: 2, chunks: 6, chunkDelayMs: 20 });
    const client = new H2FrameClient(gw.httpsUrl, ca);
    try {
      const [cut, ...healthy] = await Promise.all([
        client.request(chatHeaders(), streamBody('claude-sonnet-4-5')),
        client.request(chatHeaders(), streamBody('gemini-2.5-flash')),
        client.request(chatHeaders(), streamBody('gpt-4o-mini')),
      ]);
      assert.equal(assertResetReply(cut!, 'cut'), '200 then reset');
      for (const r of healthy) {
        assert.equal(r.status, 200);
        assert.ok(r.body.endsWith('data: [DONE]\n\n'), `a whole stream: ${r.body.slice(-200)}`);
        assert.ok(r.frames.at(-1)!.endStream, 'ends with END_STREAM');
        assert.ok(!r.frames.some((f) => f.type === 'RST_STREAM' || f.type === 'GOAWAY'));
      }
    } finally {
      await client.close();
    }
  });
});

/** Iterates a completion stream to its end: the chunks, or what the SDK threw. */
async function consume(client: OpenAI, model: string): Promise<{ chunks: number; finish: string | null; err: unknown; opened: boolean }> {
  let chunks = 0;
  let finish: string | null = null;
  let opened = false;
  try {
    const stream = await client.chat.completions.create({ model, stream: true, messages: [{ role: 'user', content: 'Hello, resets' }] });
    opened = true;
    for await (const c of stream) {
      chunks++;
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    return { chunks, finish, err: undefined, opened };
  } catch (err) {
    return { chunks, finish, err, opened };
  }
}

describe('the openai SDK over TLS: every mid-stream reset is an exception, never a truncated completion', () => {
  const h2Agent = (): Agent => new Agent({ connect: { ca: readFileSync(gw.certs.caCert) }, allowH2: true });

  for (const proto of ['HTTP/1.1', 'HTTP/2'] as const) {
    test(`${proto}: 12 resets per dialect`, async () => {
      resetSims();
      const agent = proto === 'HTTP/2' ? h2Agent() : undefined;
      // HTTP/1.1: the stack's TLS client (undici negotiates http/1.1 unless allowed h2).
      const client =
        agent === undefined
          ? gw.client({ tls: true })
          : new OpenAI({
              apiKey: gw.demoKey,
              baseURL: `${gw.httpsUrl}/v1`,
              maxRetries: 0,
              timeout: 30_000,
              fetch: ((url: string, init: Record<string, unknown>) => undiciFetch(url, { ...init, dispatcher: agent })) as unknown as typeof fetch,
            });
      try {
        for (const d of DIALECTS) {
          for (let i = 0; i < 12; i++) {
            gw.sims[d.sim]!.enqueueFault(faultFor(i));
            const got = await consume(client, d.model);
            const what = `${proto} ${d.sim} #${i}: ${got.chunks} chunks, ${String(got.err)}`;
            assert.ok(got.err !== undefined, `the SDK raised: ${what}`);
            assert.equal(got.finish, null, `no finish_reason reached the caller: ${what}`);
            if (got.err instanceof OpenAI.APIError && got.err.status !== undefined) {
              // Envoy's 503 (the reset came while the gateway held the head): an error before any chunk.
              assert.equal(got.opened, false, what);
              assert.equal(got.err.status, 503, what);
              assert.equal(got.err.code, 'upstream_unavailable', what);
              assert.ok(got.err.headers?.get('x-request-id'), what);
            } else {
              // The 200 stream, then a transport error: the SDK throws from the iterator.
              assert.equal(got.opened, true, what);
            }
          }
        }
      } finally {
        await agent?.close();
      }
    });
  }
});
