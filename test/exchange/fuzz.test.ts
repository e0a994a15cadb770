import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { dialects } from '../../src/dialects/registry.ts';
import { GatewayError } from '../../src/errors/gateway-error.ts';
import { parseChatRequest } from '../../src/exchange/parse-request.ts';
import type { ExtProcResponse } from '../../src/extproc/types.ts';
import { bodyMessage, headersMessage, immediate, openAIError, phaseMutation, syncReply } from '../support/unit/ext-proc.ts';
import { chatHeaders, harness } from '../support/unit/gateway.ts';
import { DEMO_MODELS, fuzzBody, type FuzzBody } from '../support/fuzz/requests.ts';

/**
 * Issue 12 item 4: a client error is never a 5xx. Request bodies derived from the OpenAI
 * request schema and mutated (test/support/fuzz/requests.ts) go through the router-level
 * processor for each demo model (and, for a request it plans, the upstream processor for each
 * retry the plan allows), and through every dialect's translation: the answer is a plan or an
 * OpenAI error under 500, and nothing throws out of a handler.
 */
const h = harness();
after(() => h.close());

/** `FUZZ_RUNS=50000 node --import tsx --test test/exchange/fuzz.test.ts` searches longer. */
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 1_500);
const accepted = new Map<string, number>();
const kinds = new Map<string, number>();
const retried = new Map<string, number>();

function count(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/**
 * The router-level request phases; when a plan comes back, every retry the plan allows too. A
 * body of 64 KiB or more is answered asynchronously (the heavy-work queue), so the reply is awaited.
 */
async function throughRouter(body: Buffer): Promise<ExtProcResponse> {
  const router = h.router();
  try {
    const id = phaseMutation(router.handle(headersMessage('request_headers', chatHeaders({ 'content-length': String(body.length) }))), 'request_headers').set['x-request-id']!;
    const res = syncReply(await router.handle(bodyMessage('request_body', body)));
    if (res['immediate_response'] === undefined) await retries(id);
    return res;
  } finally {
    router.close('cancelled');
  }
}

/** Attempts 2…n of the request's plan, as the upstream filter prepares them (each target's translation; a large request's asynchronously). */
async function retries(id: string): Promise<void> {
  const ex = h.registry.get(id)!;
  const order = ex.plan!.targets;
  for (let n = 2; n <= order.length; n++) {
    const cluster = ex.model!.targets[order[n - 1]!]!.provider.cluster;
    const upstream = h.upstream(cluster);
    const headers = { ':method': 'POST', ':path': '/v1/chat/completions', 'x-request-id': id, 'x-envoy-attempt-count': String(n) };
    const res = await upstream.handle(headersMessage('request_headers', headers));
    if (res['immediate_response'] !== undefined) {
      const r = immediate(res);
      assert.ok(r.status < 500, `attempt ${n} (${cluster}): ${r.status} ${r.body}`);
      openAIError(r.json);
    } else {
      phaseMutation(res, 'request_headers');
      const body = upstream.handle(bodyMessage('request_body', ''));
      const sent = phaseMutation(body, 'request_body').body;
      if (sent !== undefined && sent.length > 0) JSON.parse(sent.toString('utf8'));
    }
    upstream.close();
    count(retried, cluster);
  }
}

function checkRouterAnswer(sample: FuzzBody, res: ExtProcResponse): void {
  if (res['immediate_response'] !== undefined) {
    const r = immediate(res);
    assert.ok(r.status >= 400 && r.status < 500, `status ${r.status} for caller input: ${r.body}`);
    const error = openAIError(r.json);
    if (r.status === 400) assert.equal(error.type, 'invalid_request_error');
    return;
  }
  const plan = phaseMutation(res, 'request_body');
  // A translated body is JSON the provider can read; an untouched one is the caller's.
  if (plan.body !== undefined && plan.body.length > 0) JSON.parse(plan.body.toString('utf8'));
  count(accepted, sample.model);
}

/** Every wire format, whatever the plan would pick: translate or refuse with a 4xx. */
function checkTranslations(body: Buffer): void {
  let req;
  try {
    req = parseChatRequest(body);
  } catch (err) {
    assert.ok(err instanceof GatewayError && err.status < 500, `parse threw ${String(err)}`);
    return;
  }
  for (const dialect of Object.values(dialects)) {
    try {
      const out = dialect.buildRequest(req, { providerModel: 'provider-model', defaultMaxTokens: 1024 });
      if (!out.bodyUnchanged) JSON.parse(Buffer.from(out.body).toString('utf8'));
    } catch (err) {
      assert.ok(err instanceof GatewayError, `${dialect.id} threw ${err instanceof Error ? err.stack : String(err)}`);
      assert.ok(err.status < 500, `${dialect.id}: ${err.status} ${err.message}`);
    }
  }
}

test('fuzzed request bodies: never a 5xx, every answer an OpenAI error or a plan, nothing thrown', async () => {
  await fc.assert(
    fc.asyncProperty(fuzzBody, async (sample) => {
      count(kinds, sample.kind);
      checkRouterAnswer(sample, await throughRouter(sample.bytes));
      checkTranslations(sample.bytes);
    }),
    { numRuns: RUNS },
  );
  // The generators must reach the translation, not stop at validation, for every model.
  for (const model of DEMO_MODELS) assert.ok((accepted.get(model) ?? 0) >= RUNS / 50, `${model}: only ${accepted.get(model) ?? 0} accepted of ${RUNS}`);
  // chat-default's failover targets (Gemini, then OpenAI) were prepared as retries too.
  for (const cluster of ['gemini', 'openai-primary']) assert.ok((retried.get(cluster) ?? 0) > 0, `no retry prepared for ${cluster}`);
  for (const kind of ['plausible', 'structural', 'bytes']) assert.ok((kinds.get(kind) ?? 0) > 0, kind);
  // Nothing the gateway logged for these requests is a server error.
  for (const line of h.lines()) if (typeof line['status'] === 'number') assert.ok(line['status'] < 500, JSON.stringify(line));
  assert.equal(h.registry.size, 0, 'every exchange freed');
});
