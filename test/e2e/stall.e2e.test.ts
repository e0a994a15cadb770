import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI, { APIError } from 'openai';
import { hello, startTestStack, type TestStack } from '../support/e2e.ts';
import { schemaErrors } from '../support/openai-schema.ts';

/**
 * Silent providers and long requests through the real Envoy (issue 12, item 1).
 *
 * Envoy 1.40.0 with the `envoy_grpc` client and `ext_proc_graceful_grpc_close` died with SIGSEGV
 * when a router-level ext_proc stream older than ~50 s closed: a stall that ends in a retry after
 * `per_try_idle_timeout` (60 s), but just as well a long completion or a caller that gives up
 * (docs/envoy-crash-1.40.md). So this file first runs two requests that live past that age (one
 * long stream that completes, one its caller abandons), then the stall cases with a short
 * `per_try_idle_timeout` (a rendered copy of envoy/envoy.yaml) so they take seconds; afterwards
 * Envoy must be the same live process and still serve. A hang is caught by the client's timeout.
 */

const PROJECT = path.resolve(import.meta.dirname, '../..');
/** Envoy's per_try_idle_timeout in this test; every stall below is longer. */
const IDLE_TIMEOUT_S = 2;
const STALL_MS = 6_000;
/** Past the age at which the old configuration crashed (~50 s). */
const LONG_STREAM_CHUNKS = 58;
const LONG_CHUNK_DELAY_MS = 1_000;
const ABANDON_AFTER_MS = 54_000;

let templateDir: string | undefined;

/** envoy/envoy.yaml with a short per-try idle timeout; fails loudly when the setting is gone. */
function shortIdleTemplate(): string {
  const text = readFileSync(path.join(PROJECT, 'envoy/envoy.yaml'), 'utf8');
  const re = /per_try_idle_timeout: \d+s/g;
  assert.equal(text.match(re)?.length, 1, 'envoy/envoy.yaml should have one per_try_idle_timeout: update this test');
  templateDir = mkdtempSync(path.join(tmpdir(), 'llmx-stall-'));
  const file = path.join(templateDir, 'envoy.yaml');
  writeFileSync(file, text.replace(re, `per_try_idle_timeout: ${IDLE_TIMEOUT_S}s`));
  return file;
}

let gw: TestStack;
let client: OpenAI;
let envoyPid: number | undefined;
let envoyExit: string | undefined;

/** The log line of one request, by the x-request-id the gateway answered with. */
function logLineFor(requestId: string | null): Record<string, unknown> | undefined {
  assert.ok(requestId, 'the response carries x-request-id');
  return gw.logLines().find((l) => l.msg === 'request' && l.request_id === requestId);
}

async function waitForLogLine(requestId: string | null): Promise<Record<string, unknown>> {
  for (let i = 0; i < 100; i++) {
    const line = logLineFor(requestId);
    if (line) return line;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`no log line for ${requestId}`);
}

const assertChatCompletion = (v: unknown): void => assert.deepEqual(schemaErrors('CreateChatCompletionResponse', v), []);
const assertChatCompletionChunk = (v: unknown): void => assert.deepEqual(schemaErrors('CreateChatCompletionStreamResponse', v), []);

function assertOpenAIError(err: unknown, status: number, code: string): void {
  assert.ok(err instanceof APIError, `an OpenAI API error, got ${String(err)}`);
  assert.equal(err.status, status, JSON.stringify(err.error));
  assert.deepEqual(schemaErrors('ErrorResponse', { error: err.error }), []);
  assert.equal((err.error as { code?: unknown }).code, code);
}

before(async () => {
  gw = await startTestStack({ envoyTemplate: shortIdleTemplate() });
  envoyPid = gw.envoy.process.pid;
  void gw.envoy.exited.then(() => (envoyExit = `code ${gw.envoy.process.exitCode}, signal ${gw.envoy.process.signalCode}`));
  // Generous: a hang would still fail, never a slow but correct answer on a busy machine.
  client = new OpenAI({ apiKey: gw.demoKey, baseURL: `${gw.httpUrl}/v1`, maxRetries: 0, timeout: 120_000 });
});

after(async () => {
  await gw?.dispose();
  if (templateDir) rmSync(templateDir, { recursive: true, force: true });
});

// First, while Envoy is otherwise quiet: the old crash (a use-after-free inside Envoy) showed every
// time in an idle Envoy, but not always in one busy with other requests.
describe('requests older than the old crash threshold (~50 s)', () => {
  test('a long stream completes, and one its caller abandons ends, without taking Envoy down', async () => {
    gw.sims.anthropic!.enqueueFault({ chunks: LONG_STREAM_CHUNKS, chunkDelayMs: LONG_CHUNK_DELAY_MS });
    const completing = await client.chat.completions.create({ model: 'claude-sonnet-4-5', messages: hello, stream: true });
    const longStream = (async () => {
      let chunks = 0;
      let finish: string | null = null;
      for await (const chunk of completing) {
        assertChatCompletionChunk(chunk);
        chunks++;
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      return { chunks, finish };
    })();
    gw.sims.gemini!.enqueueFault({ chunks: 200, chunkDelayMs: LONG_CHUNK_DELAY_MS });
    const caller = new AbortController();
    const doomed = await client.chat.completions.create({ model: 'gemini-2.5-flash', messages: hello, stream: true }, { signal: caller.signal });
    setTimeout(() => caller.abort(), ABANDON_AFTER_MS).unref();
    const abandoned = (async () => {
      let chunks = 0;
      // The SDK ends the iteration quietly when its signal aborts; an error would be Envoy's.
      for await (const _ of doomed) chunks++;
      return { chunks, endedByCaller: caller.signal.aborted };
    })();

    const long = await longStream;
    assert.ok(long.chunks >= LONG_STREAM_CHUNKS / 2, `${long.chunks} chunks`);
    assert.equal(long.finish, 'stop');
    const gone = await abandoned;
    assert.ok(gone.endedByCaller, 'the abandoned stream ran until its caller left');
    assert.ok(gone.chunks > 10, `${gone.chunks} chunks before the caller left`);
    // Envoy's crash came right after the stream closed; give it the moment to happen.
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(envoyExit, undefined, `Envoy exited: ${envoyExit}`);
  });
});

describe('a silent target fails over to the next one', () => {
  test('non-stream: the caller gets the backup target’s answer', async () => {
    gw.sims['openai-primary']!.enqueueFault({ latencyMs: STALL_MS });
    const backupBefore = gw.sims['openai-backup']!.requests.length;
    const { data, response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: hello }).withResponse();
    assertChatCompletion(data);
    assert.equal(data.model, 'gpt-4o-mini');
    assert.ok(data.choices[0]?.message.content, 'an answer');
    assert.equal(gw.sims['openai-backup']!.requests.length, backupBefore + 1, 'the backup served it');
    const line = await waitForLogLine(response.headers.get('x-request-id'));
    assert.equal(line.provider, 'openai-backup');
    assert.equal(line.status, 200);
    assert.equal(line.attempts, 2);
  });

  test('stream: the caller gets the backup target’s stream, to its end', async () => {
    gw.sims['openai-primary']!.enqueueFault({ latencyMs: STALL_MS });
    const { data: stream, response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: hello, stream: true }).withResponse();
    let text = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      assertChatCompletionChunk(chunk);
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.ok(text.length > 0, 'content arrived');
    assert.equal(finish, 'stop');
    const line = await waitForLogLine(response.headers.get('x-request-id'));
    assert.equal(line.provider, 'openai-backup');
    assert.equal(line.outcome, 'completed');
  });

  test('across wire formats: Anthropic and Gemini silent, the OpenAI-compatible target answers', async () => {
    gw.sims.anthropic!.enqueueFault({ latencyMs: STALL_MS });
    gw.sims.gemini!.enqueueFault({ latencyMs: STALL_MS });
    const { data, response } = await client.chat.completions.create({ model: 'chat-default', messages: hello }).withResponse();
    assertChatCompletion(data);
    assert.equal(data.model, 'chat-default');
    const line = await waitForLogLine(response.headers.get('x-request-id'));
    assert.equal(line.provider, 'openai-primary');
    assert.equal(line.attempts, 3);
  });
});

describe('every target silent: an OpenAI error in bounded time, no hang', () => {
  for (const stream of [false, true]) {
    test(`${stream ? 'stream' : 'non-stream'}: 504 upstream_timeout after both targets' idle timeouts`, async () => {
      gw.sims['openai-primary']!.enqueueFault({ latencyMs: STALL_MS });
      gw.sims['openai-backup']!.enqueueFault({ latencyMs: STALL_MS });
      const err = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: hello, stream }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assertOpenAIError(err, 504, 'upstream_timeout');
      assert.ok((err as APIError).headers?.get('x-request-id'), 'the error carries x-request-id');
    });
  }

  test('a single-target model silent mid-stream: the caller sees an error, never a clean end', async () => {
    gw.sims.anthropic!.enqueueFault({ chunks: 6, chunkDelayMs: STALL_MS });
    const stream = await client.chat.completions.create({ model: 'claude-sonnet-4-5', messages: hello, stream: true });
    let chunks = 0;
    const outcome = await (async () => {
      for await (const _ of stream) chunks++;
    })().then(
      () => 'clean end',
      (e: unknown) => e,
    );
    assert.notEqual(outcome, 'clean end', `the stream ended cleanly after ${chunks} chunks`);
  });
});

describe('afterwards', () => {
  test('Envoy is the same live process: /ready answers and it serves a normal request', async () => {
    assert.equal(envoyExit, undefined, `Envoy exited: ${envoyExit}`);
    assert.equal(gw.envoy.process.pid, envoyPid);
    assert.equal((await fetch(`${gw.adminUrl}/ready`)).status, 200);
    const answer = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: hello });
    assertChatCompletion(answer);
    assert.equal(gw.extprocState, 'serving');
  });
});
