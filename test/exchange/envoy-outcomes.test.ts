import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { loadConfigFile } from '../../src/config/loader.ts';
import { cutStreamErrorCode, EnvoyOutcomes, envoyReplyErrorCode, type EnvoyOutcomesOptions } from '../../src/exchange/envoy-outcomes.ts';
import { Exchange } from '../../src/exchange/exchange.ts';
import type { EnvoyReply } from '../../src/extproc/access-log-service.ts';
import { DEMO_CONFIG, DEMO_ENV } from '../support/unit/config.ts';
import { memorySinks } from '../support/unit/sinks.ts';

const config = loadConfigFile(DEMO_CONFIG, DEMO_ENV, 1);
/** Short waits: the tests wait past them, they never measure them. */
const HOLD_MS = 150;
const GRACE_MS = 40;

function setup(opts: EnvoyOutcomesOptions = {}) {
  const mem = memorySinks();
  const outcomes = new EnvoyOutcomes(mem.sinks, { holdMs: HOLD_MS, graceMs: GRACE_MS, ...opts });
  const requestLines = () => mem.lines().filter((l) => l['msg'] === 'request');
  const count = async (labels: Record<string, string>) =>
    (await mem.sinks.metrics.requests.get()).values.filter((v) => Object.entries(labels).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x)).reduce((n, v) => n + v.value, 0);
  return { outcomes, requestLines, count, mem };
}

/** An exchange whose provider sent its 200 head (the ext_proc's view when Envoy cut it). */
function answeredExchange(): Exchange {
  const ex = new Exchange(config, undefined);
  ex.model = config.models.get('claude-sonnet-4-5')!;
  ex.attempts.push({ provider: ex.model.targets[0]!.provider, providerModel: 'claude-sonnet-4-5-20250929', number: 1, key: ex.model.targets[0]!.key, startedAtMs: 0 });
  ex.status = 200;
  return ex;
}

function reply(id: string | undefined, over: Partial<EnvoyReply> = {}): EnvoyReply {
  return { responseRequestId: id, requestRequestId: id, status: 503, flags: ['UR'], codeDetails: 'upstream_reset_after_response_started{remote_reset}', method: 'POST', path: '/v1/chat/completions', ...over };
}

describe('EnvoyOutcomes', () => {
  test('a certain outcome is logged at once; a late entry for it is ignored', async () => {
    const { outcomes, requestLines } = setup();
    const ex = answeredExchange();
    outcomes.settle(ex, 'completed');
    assert.equal(requestLines().length, 1, 'logged synchronously');
    outcomes.onReply(reply(ex.id, { status: 200, flags: ['DC'] }));
    await sleep(GRACE_MS * 3);
    assert.equal(requestLines().length, 1, 'no second line');
    assert.deepEqual(outcomes.pending, { held: 0, waiting: 0 });
  });

  test("an uncertain one waits for Envoy's entry: its error status makes it `failed` with the caller's code", async () => {
    const { outcomes, requestLines, count } = setup();
    const ex = answeredExchange();
    outcomes.settle(ex, 'aborted');
    assert.equal(requestLines().length, 0, 'held');
    outcomes.onReply(reply(ex.id, { status: 503, flags: ['UR'] }));
    const [line, ...more] = requestLines();
    assert.equal(more.length, 0);
    assert.equal(line!['request_id'], ex.id);
    assert.equal(line!['status'], 503);
    assert.equal(line!['outcome'], 'failed');
    assert.equal(line!['error_code'], 'upstream_unavailable');
    assert.equal(line!['provider'], 'anthropic');
    assert.equal(await count({ status: '503', outcome: 'failed', provider: 'anthropic' }), 1, 'metrics agree');
    assert.equal(await count({ outcome: 'aborted' }), 0);
  });

  test('a begun response cut short stays `aborted` with its status and why', () => {
    const { outcomes, requestLines } = setup();
    const ex = answeredExchange();
    outcomes.settle(ex, 'aborted');
    outcomes.onReply(reply(undefined, { requestRequestId: ex.id, responseRequestId: ex.id, status: 200, flags: ['UT'] }));
    const line = requestLines()[0]!;
    assert.deepEqual([line['status'], line['outcome'], line['error_code']], [200, 'aborted', 'upstream_timeout']);
  });

  test('no entry in time: logged as the ext_proc saw it', async () => {
    const { outcomes, requestLines } = setup();
    const ex = answeredExchange();
    outcomes.settle(ex, 'aborted');
    await sleep(HOLD_MS * 2);
    const [line, ...more] = requestLines();
    assert.equal(more.length, 0);
    assert.deepEqual([line!['status'], line!['outcome'], line!['error_code']], [200, 'aborted', undefined]);
    outcomes.onReply(reply(ex.id));
    await sleep(GRACE_MS * 3);
    assert.equal(requestLines().length, 1, 'a late entry changes nothing');
  });

  test('an entry that beats the ext_proc close is used when the close comes', () => {
    const inFlight = new Set<string>();
    const { outcomes, requestLines } = setup({ inFlight: (id) => inFlight.has(id) });
    const ex = answeredExchange();
    inFlight.add(ex.id);
    outcomes.onReply(reply(ex.id, { status: 504, flags: ['UT'] }));
    assert.equal(requestLines().length, 0);
    inFlight.delete(ex.id);
    outcomes.settle(ex, 'aborted');
    const line = requestLines()[0]!;
    assert.deepEqual([line['status'], line['outcome'], line['error_code']], [504, 'failed', 'upstream_timeout']);
    assert.deepEqual(outcomes.pending, { held: 0, waiting: 0 });
  });

  test('an entry for a request still in flight keeps waiting past the grace (bounded by the hold)', async () => {
    const inFlight = new Set<string>();
    const { outcomes, requestLines } = setup({ inFlight: (id) => inFlight.has(id) });
    const ex = answeredExchange();
    inFlight.add(ex.id);
    outcomes.onReply(reply(ex.id, { status: 200, flags: ['DC'] }));
    await sleep(GRACE_MS * 2);
    assert.equal(requestLines().length, 0, 'not taken for a refusal');
    inFlight.delete(ex.id);
    outcomes.settle(ex, 'aborted');
    const line = requestLines()[0]!;
    assert.deepEqual([line['outcome'], line['error_code']], ['aborted', 'client_closed']);
  });

  test('an entry for a request the ext_proc never saw: one `rejected` line, provider envoy, the id the caller got', async () => {
    const { outcomes, requestLines, count } = setup();
    outcomes.onReply(reply('mapper-uuid', { requestRequestId: 'caller-id', status: 431, flags: ['DPE'], codeDetails: 'http1.headers_too_large', method: '', path: '' }));
    assert.equal(requestLines().length, 0, 'after the grace wait');
    await sleep(GRACE_MS * 3);
    const [line, ...more] = requestLines();
    assert.equal(more.length, 0);
    assert.equal(line!['request_id'], 'mapper-uuid');
    assert.equal(line!['client_request_id'], 'caller-id');
    assert.deepEqual([line!['status'], line!['outcome'], line!['provider'], line!['error_code']], [431, 'rejected', 'envoy', 'request_headers_too_large']);
    assert.equal(await count({ provider: 'envoy', status: '431', outcome: 'rejected' }), 1, 'metrics agree');
    outcomes.onReply(reply('mapper-uuid', { status: 431 }));
    await sleep(GRACE_MS * 3);
    assert.equal(requestLines().length, 1, 'the same entry twice is one line');
  });

  test('a request the ext_proc logged itself (noteFinished) is not logged again', async () => {
    const { outcomes, requestLines } = setup();
    outcomes.onReply(reply('stateless-id', { status: 426 }));
    outcomes.noteFinished('stateless-id');
    await sleep(GRACE_MS * 3);
    assert.equal(requestLines().length, 0);
  });

  test('an entry with no reply sent and no known request is dropped', async () => {
    const { outcomes, requestLines } = setup();
    outcomes.onReply(reply('gone', { status: 0, flags: ['DC'] }));
    await sleep(GRACE_MS * 3);
    assert.equal(requestLines().length, 0);
    assert.deepEqual(outcomes.pending, { held: 0, waiting: 0 });
  });

  test('close() logs what is pending as it is', () => {
    const { outcomes, requestLines } = setup({ holdMs: 60_000, graceMs: 60_000 });
    const ex = answeredExchange();
    outcomes.settle(ex, 'aborted');
    outcomes.onReply(reply('refused', { status: 426, flags: [] }));
    outcomes.close();
    const lines = requestLines();
    assert.deepEqual(lines.map((l) => [l['request_id'], l['outcome']]).sort(), [[ex.id, 'aborted'], ['refused', 'rejected']].sort());
    assert.deepEqual(outcomes.pending, { held: 0, waiting: 0 });
  });

  test('bounded: beyond maxTracked an uncertain exchange is logged at once', () => {
    const { outcomes, requestLines } = setup({ maxTracked: 1, holdMs: 60_000 });
    outcomes.settle(answeredExchange(), 'aborted');
    outcomes.settle(answeredExchange(), 'aborted');
    assert.equal(requestLines().length, 1);
    outcomes.close();
  });
});

describe("error codes: what Envoy's local_reply_config told the caller", () => {
  test('by status and flags, in the mappers order', () => {
    assert.equal(envoyReplyErrorCode(503, ['UR']), 'upstream_unavailable');
    assert.equal(envoyReplyErrorCode(503, ['UC', 'URX']), 'upstream_unavailable');
    assert.equal(envoyReplyErrorCode(504, ['UT']), 'upstream_timeout');
    assert.equal(envoyReplyErrorCode(503, []), 'gateway_unavailable');
    assert.equal(envoyReplyErrorCode(504, []), 'gateway_timeout');
    assert.equal(envoyReplyErrorCode(413, []), 'request_too_large');
    assert.equal(envoyReplyErrorCode(426, []), 'http_version_not_supported');
    assert.equal(envoyReplyErrorCode(431, ['DPE']), 'request_headers_too_large');
    assert.equal(envoyReplyErrorCode(400, ['DPE']), 'invalid_http_request');
    assert.equal(envoyReplyErrorCode(408, []), 'request_timeout');
    assert.equal(envoyReplyErrorCode(500, []), 'gateway_error');
    assert.equal(envoyReplyErrorCode(418, []), 'invalid_request');
  });
  test('why a begun response was cut', () => {
    assert.equal(cutStreamErrorCode(['UR']), 'upstream_reset');
    assert.equal(cutStreamErrorCode(['UC']), 'upstream_reset');
    assert.equal(cutStreamErrorCode(['UT']), 'upstream_timeout');
    assert.equal(cutStreamErrorCode(['DC']), 'client_closed');
    assert.equal(cutStreamErrorCode([]), 'stream_reset');
  });
});
