import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { InvalidRequestError } from '../../src/errors/gateway-error.ts';
import { anthropicDialect } from '../../src/dialects/anthropic/index.ts';
import { HEAVY_BODY_BYTES, TurnQueue, heavyWork } from '../../src/exchange/heavy-work/turn-queue.ts';
import { parseChatRequestInTurns } from '../../src/exchange/heavy-work/parse-in-turns.ts';
import { parseChatRequest } from '../../src/exchange/parse-request.ts';
import { DEFAULT_REQUEST_LIMITS } from '../../src/exchange/request-limits.ts';
import type { ExtProcResponse } from '../../src/extproc/types.ts';
import { admit, admitHeaders, chatBody, harness } from '../support/unit/gateway.ts';
import { geminiDialect } from '../../src/dialects/gemini/index.ts';
import { bodyMessage, headersMessage, immediate, openAIError, phaseMutation } from '../support/unit/ext-proc.ts';

/** A valid chat request of at least HEAVY_BODY_BYTES: a long conversation of short text parts. */
function heavyBody(extra: Record<string, unknown> = {}, model = 'claude-sonnet-4-5'): string {
  const messages = Array.from({ length: 2000 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: [{ type: 'text', text: `turn ${i} of a long agent conversation` }] }));
  const body = JSON.stringify({ model, messages, ...extra });
  assert.ok(Buffer.byteLength(body) >= HEAVY_BODY_BYTES, 'the test body must take the heavy path');
  return body;
}

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  assert.fail('expected a rejection');
}

describe('TurnQueue', () => {
  test('runs one step per event-loop turn: other macrotasks run between two steps', async () => {
    const q = new TurnQueue();
    const job = q.job();
    const marks: string[] = [];
    const step = (n: number) => () => {
      marks.push(`step ${n}`);
      // Queued now, this runs in the next turn: before the next step only if steps yield.
      setImmediate(() => marks.push(`other after ${n}`));
      return n;
    };
    const results = await Promise.all([job.step(step(1)), job.step(step(2)), job.step(step(3))]);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(results, [1, 2, 3]);
    assert.deepEqual(marks, ['step 1', 'other after 1', 'step 2', 'other after 2', 'step 3', 'other after 3']);
  });

  test("an older job's steps run before a newer job's, whatever order they were queued in", async () => {
    const q = new TurnQueue();
    const older = q.job();
    const newer = q.job();
    const order: string[] = [];
    await Promise.all([newer.step(() => order.push('newer 1')), older.step(() => order.push('older 1')), older.step(() => order.push('older 2')), newer.step(() => order.push('newer 2'))]);
    assert.deepEqual(order, ['older 1', 'older 2', 'newer 1', 'newer 2']);
    assert.equal(q.size, 0);
  });

  test("a step that throws rejects its own promise only; the queue goes on", async () => {
    const q = new TurnQueue();
    const job = q.job();
    const failing = job.step(() => {
      throw new InvalidRequestError('bad', { param: 'messages', code: 'invalid_value' });
    });
    const next = q.job().step(() => 'still served');
    const err = await caught(failing);
    assert.ok(err instanceof InvalidRequestError);
    assert.equal(err.param, 'messages');
    assert.equal(await next, 'still served');
  });
});

describe('parseChatRequestInTurns', () => {
  const limits = DEFAULT_REQUEST_LIMITS;

  test('the same ChatRequest as the in-line path', async () => {
    const body = Buffer.from(heavyBody({ temperature: 0.3, tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }] }));
    assert.deepEqual(await parseChatRequestInTurns(heavyWork.job(), body, limits), parseChatRequest(body, limits));
  });

  // One case per stage: limits scan, JSON.parse, duplicate keys, schema.
  const bad: Array<[string, string, { param: string | null; code: string }]> = [
    ['over maxMessages', JSON.stringify({ model: 'm', messages: Array.from({ length: 5000 }, () => ({ role: 'user', content: 'hi' })) }), { param: 'messages', code: 'array_above_max_length' }],
    ['malformed JSON', `${heavyBody().slice(0, -1)},`, { param: null, code: 'invalid_json' }],
    ['a duplicate key', heavyBody().replace('"model":', '"model":"gpt-4o-mini","model":'), { param: 'model', code: 'invalid_json' }],
    ['a wrong type', heavyBody({ temperature: 'hot' }), { param: 'temperature', code: 'invalid_value' }],
  ];
  for (const [name, text, expected] of bad) {
    test(`${name}: the same 400 as the in-line path, naming the parameter`, async () => {
      const body = Buffer.from(text);
      let inline: unknown;
      try {
        parseChatRequest(body, limits);
      } catch (err) {
        inline = err;
      }
      const inTurns = await caught(parseChatRequestInTurns(heavyWork.job(), body, limits));
      assert.ok(inline instanceof InvalidRequestError && inTurns instanceof InvalidRequestError);
      assert.deepEqual({ status: inTurns.status, param: inTurns.param, code: inTurns.code, message: inTurns.message }, { status: 400, ...expected, message: inline.message });
    });
  }
});

describe('router-level processor: a body of HEAVY_BODY_BYTES or more', () => {
  const h = harness();
  after(() => h.close());

  test('answers asynchronously with the same plan and translation as for a small body', async () => {
    const router = h.router();
    const { id } = admitHeaders(router);
    const text = heavyBody();
    const reply = router.handle(bodyMessage('request_body', text));
    assert.ok(reply instanceof Promise, 'the heavy path answers from the queue');
    const m = phaseMutation(await reply, 'request_body');
    // What the in-line path sends for the same request: its model's first target's translation.
    const model = h.registry.get(id)!.model!;
    const expected = anthropicDialect.buildRequest(parseChatRequest(Buffer.from(text)), { providerModel: model.targets[0]!.model, defaultMaxTokens: model.defaultMaxTokens });
    assert.equal(m.set[':path']?.endsWith(expected.path), true);
    assert.equal(m.set['content-length'], String(expected.body.length));
    assert.deepEqual(m.body, Buffer.from(expected.body));
    assert.equal(m.clearRouteCache, true);
    assert.equal(h.registry.get(id)?.request?.messages.length, 2000);
    assert.ok(h.registry.get(id)!.overheadNs > 0n, 'stage time counts in the overhead');
    router.close('cancelled');
  });

  test('a body the in-line path refuses is the same 400 naming the parameter, with the request id', async () => {
    const router = h.router();
    const { id } = admitHeaders(router);
    const res = immediate(await router.handle(bodyMessage('request_body', heavyBody({ top_p: 7 }))));
    assert.equal(res.status, 400);
    assert.equal(openAIError(res.json).param, 'top_p');
    assert.equal(res.headers['x-request-id'], id);
    router.close('done');
  });

  test('small requests are answered in full while heavy ones wait their turn', async () => {
    const heavy: Array<Promise<ExtProcResponse>> = [];
    const routers = Array.from({ length: 4 }, () => h.router());
    for (const r of routers) {
      admitHeaders(r);
      heavy.push(r.handle(bodyMessage('request_body', heavyBody())) as Promise<ExtProcResponse>);
    }
    let heavyDone = 0;
    for (const p of heavy) void p.then(() => heavyDone++);
    // A small request arriving now is answered synchronously, before any heavy one finishes.
    const small = h.router();
    const { plan } = admit(small, chatBody('gpt-4o-mini'));
    assert.equal(plan.set[':path'], '/v1/chat/completions');
    assert.equal(heavyDone, 0);
    for (const m of await Promise.all(heavy)) assert.ok(phaseMutation(m, 'request_body').body!.length > 0);
    for (const r of [...routers, small]) r.close('done');
  });

  test('a request whose stream closed before its turn skips its remaining stages', async () => {
    const router = h.router();
    const { id } = admitHeaders(router);
    const reply = router.handle(bodyMessage('request_body', heavyBody()));
    router.close('cancelled');
    const res = await reply;
    assert.equal(h.registry.get(id), undefined);
    // No plan, no translation: an empty request_body answer nobody reads.
    assert.deepEqual(phaseMutation(res, 'request_body').set, {});
  });

  test("a large request's retry is translated in its turn, the same as in-line", async () => {
    const router = h.router();
    const { id } = admitHeaders(router);
    const text = heavyBody({}, 'chat-default');
    phaseMutation(await router.handle(bodyMessage('request_body', text)), 'request_body');
    const ex = h.registry.get(id)!;
    const slot = ex.plan!.targets[1]!;
    const target = ex.model!.targets[slot]!;
    assert.equal(target.provider.dialect.id, 'gemini', "chat-default's second target is Gemini");
    const upstream = h.upstream(target.provider.cluster);
    const reply = upstream.handle(headersMessage('request_headers', { ':method': 'POST', ':path': '/v1/chat/completions', 'x-request-id': id, 'x-envoy-attempt-count': '2' }));
    assert.ok(reply instanceof Promise, 'queued, not in-line');
    const m = phaseMutation(await reply, 'request_headers');
    const expected = geminiDialect.buildRequest(parseChatRequest(Buffer.from(text)), { providerModel: target.model, defaultMaxTokens: ex.model!.defaultMaxTokens });
    assert.equal(m.set['content-length'], String(expected.body.length));
    assert.deepEqual(phaseMutation(upstream.handle(bodyMessage('request_body', '')), 'request_body').body, Buffer.from(expected.body));
    assert.deepEqual(ex.attempts.map((a) => a.number), [1, 2]);
    upstream.close();
    router.close('cancelled');
  });
});
