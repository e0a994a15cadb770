import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { DEMO_ENV } from '../support/unit/config.ts';
import { bodyMessage, immediate, openAIError, phaseMutation } from '../support/unit/ext-proc.ts';
import { admit, admitHeaders, attempt, chatBody, harness } from '../support/unit/gateway.ts';

const h = harness();
after(() => h.close());

describe('per-request plan: targets that cannot serve the request are skipped', () => {
  test('n: 2 on chat-default: plan Gemini → OpenAI, attempt 1 prepared for Gemini', () => {
    const router = h.router();
    const { id, plan } = admit(router, chatBody('chat-default', { n: 2 }));
    assert.equal(plan.set['x-llmx-try-1'], 'gemini');
    assert.equal(plan.set['x-llmx-try-2'], 'openai-primary');
    assert.equal(plan.set['x-llmx-try-3'], undefined);
    assert.equal(plan.set['x-envoy-max-retries'], '1');
    assert.equal(plan.set[':path'], '/v1beta/models/gemini-2.5-flash:generateContent');
    assert.equal(plan.set['x-goog-api-key'], DEMO_ENV.SIM_GEMINI_KEY);
    const sent = JSON.parse(plan.body!.toString('utf8')) as { generationConfig?: { candidateCount?: number } };
    assert.equal(sent.generationConfig?.candidateCount, 2);
    const ex = h.registry.get(id)!;
    assert.deepEqual(ex.attempts.map((a) => [a.provider.name, a.number]), [['gemini', 1]]);
    router.close('cancelled');
  });

  test('the retry maps attempt 2 to the request’s own slot 2 (OpenAI), not the model’s (Gemini)', () => {
    const router = h.router();
    const { id } = admit(router, chatBody('chat-default', { n: 2 }));
    const second = attempt(h, id, 'openai-primary', 2, { 'x-goog-api-key': DEMO_ENV.SIM_GEMINI_KEY! });
    const m = phaseMutation(second.res, 'request_headers');
    assert.equal(m.set[':path'], '/v1/chat/completions');
    assert.equal(m.set['authorization'], `Bearer ${DEMO_ENV.SIM_OPENAI_PRIMARY_KEY}`);
    assert.ok(m.remove.includes('x-goog-api-key') && m.remove.includes('x-llmx-try-2'));
    const body = JSON.parse(phaseMutation(second.processor.handle(bodyMessage('request_body', '')), 'request_body').body!.toString('utf8')) as Record<string, unknown>;
    assert.deepEqual([body['model'], body['n']], ['gpt-4o-mini', 2]);
    const ex = h.registry.get(id)!;
    assert.deepEqual(ex.attempts.map((a) => [a.provider.name, a.number]), [['gemini', 1], ['openai-primary', 2]]);
    router.close('cancelled');
  });

  test('an attempt in the cluster of a skipped target is refused, never translated for it', () => {
    const router = h.router();
    const { id } = admit(router, chatBody('chat-default', { n: 2 }));
    const res = immediate(attempt(h, id, 'anthropic', 2).res);
    assert.equal(res.status, 500);
    assert.equal(openAIError(res.json).code, 'unplanned_cluster');
    router.close('cancelled');
  });

  test('a request every target can serve keeps the full plan', () => {
    const router = h.router();
    const { plan } = admit(router, chatBody('chat-default'));
    assert.deepEqual([plan.set['x-llmx-try-1'], plan.set['x-llmx-try-2'], plan.set['x-llmx-try-3'], plan.set['x-envoy-max-retries']], ['anthropic', 'gemini', 'openai-primary', '2']);
    router.close('cancelled');
  });

  test('no target can serve: 400 naming the parameter, nothing planned', () => {
    const router = h.router();
    const { id } = admitHeaders(router);
    const res = immediate(router.handle(bodyMessage('request_body', chatBody('claude-sonnet-4-5', { n: 2 }))));
    assert.equal(res.status, 400);
    const error = openAIError(res.json);
    assert.deepEqual([error.type, error.param, error.code], ['invalid_request_error', 'n', 'unsupported_parameter']);
    assert.equal(h.registry.get(id)!.attempts.length, 0);
    router.close('done');
  });
});
