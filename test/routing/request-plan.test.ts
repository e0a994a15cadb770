import assert from 'node:assert/strict';
import { parseChatRequest } from '../../src/exchange/parse-request.ts';
import { test } from 'node:test';
import { anthropicDialect } from '../../src/dialects/anthropic/index.ts';
import { geminiDialect } from '../../src/dialects/gemini/index.ts';
import { openaiDialect } from '../../src/dialects/openai-compat/index.ts';
import { CapabilityError } from '../../src/errors/capability-error.ts';
import { InvalidRequestError } from '../../src/errors/gateway-error.ts';
import { chatRequestSchema, type ChatRequest } from '../../src/openai/chat-request.ts';
import { buildRoutingPlan } from '../../src/routing/plan.ts';
import { planRequest, type ServableTarget } from '../../src/routing/request-plan.ts';

const hi = [{ role: 'user', content: 'Hi' }];
const req = (extra: Record<string, unknown> = {}): ChatRequest => chatRequestSchema.parse({ model: 'chat-default', messages: hi, ...extra });

/** chat-default's shape: Anthropic, then Gemini, then an OpenAI-compatible provider, with the real dialects. */
function chatDefault() {
  const targets: readonly ServableTarget[] = Object.freeze([
    { provider: { cluster: 'anthropic', dialect: anthropicDialect } },
    { provider: { cluster: 'gemini', dialect: geminiDialect } },
    { provider: { cluster: 'openai-primary', dialect: openaiDialect } },
  ]);
  return { targets, plan: buildRoutingPlan(targets) };
}

test('every target can serve: the model plan itself, no new object', () => {
  const model = chatDefault();
  const plan = planRequest(model, req({ temperature: 0.5 }));
  assert.equal(plan, model.plan);
  assert.deepEqual(plan.targets, [0, 1, 2]);
});

test('n: 2 skips Anthropic: two slots, one retry, Gemini first', () => {
  const model = chatDefault();
  const plan = planRequest(model, req({ n: 2 }));
  assert.deepEqual(plan.targets, [1, 2]);
  assert.deepEqual(plan.headers, {
    'x-envoy-max-retries': '1',
    'x-envoy-attempt-count': '0',
    'x-llmx-try-1': 'gemini',
    'x-llmx-try-2': 'openai-primary',
  });
  assert.ok(Object.isFrozen(plan) && Object.isFrozen(plan.headers) && Object.isFrozen(plan.targets));
  // The same subset is built once per model and reused.
  assert.equal(planRequest(model, req({ n: 3 })), plan);
});

test('logprobs: neither Anthropic nor Gemini can serve it, the OpenAI-compatible target alone', () => {
  const plan = planRequest(chatDefault(), req({ logprobs: true, top_logprobs: 2 }));
  assert.deepEqual(plan.targets, [2]);
  assert.deepEqual(plan.headers, { 'x-envoy-max-retries': '0', 'x-envoy-attempt-count': '0', 'x-llmx-try-1': 'openai-primary' });
});

test('audio input skips Anthropic (Gemini maps it); a middle target can be the one skipped', () => {
  const audio = [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }] }];
  assert.deepEqual(planRequest(chatDefault(), req({ messages: audio })).targets, [1, 2]);
  assert.deepEqual(planRequest(chatDefault(), req({ web_search_options: {} })).targets, [0, 2]);
});

test('no target can serve: the first target’s CapabilityError, naming the parameter', () => {
  const only = Object.freeze([{ provider: { cluster: 'anthropic', dialect: anthropicDialect } }, { provider: { cluster: 'gemini', dialect: geminiDialect } }]);
  const model = { targets: only, plan: buildRoutingPlan(only) };
  assert.throws(
    () => planRequest(model, req({ n: 2, logprobs: true })),
    (err: unknown) => err instanceof CapabilityError && err.status === 400 && err.param === 'n' && err.code === 'unsupported_parameter',
  );
});

test('a plain invalid request is not a capability: refused at parse, for every target', () => {
  const model = chatDefault();
  // temperature 7 is outside OpenAI's own 0–2: the caller's mistake for every provider, refused
  // when the body is parsed, before any plan.
  assert.throws(
    () => parseChatRequest(Buffer.from(JSON.stringify({ model: 'chat-default', messages: [{ role: 'user', content: 'hi' }], temperature: 7 }))),
    (err: unknown) => err instanceof InvalidRequestError && !(err instanceof CapabilityError) && err.param === 'temperature',
  );
  // 1.5 is fine for OpenAI and Gemini, beyond Anthropic's 0–1: skipped.
  assert.deepEqual(planRequest(model, req({ temperature: 1.5 })).targets, [1, 2]);
});

test('buildRequest throws exactly what cannotServe reports', () => {
  for (const extra of [{ n: 2 }, { logprobs: true }, { modalities: ['text', 'audio'] }, { functions: [{ name: 'f' }] }]) {
    const r = req(extra);
    const gap = anthropicDialect.cannotServe!(r);
    assert.ok(gap instanceof CapabilityError);
    assert.throws(() => anthropicDialect.buildRequest(r, { providerModel: 'claude', defaultMaxTokens: 10 }), (err: unknown) => err instanceof CapabilityError && err.param === gap.param);
  }
  const g = req({ logprobs: true });
  assert.throws(() => geminiDialect.buildRequest(g, { providerModel: 'gemini-2.5-flash', defaultMaxTokens: 10 }), (err: unknown) => err instanceof CapabilityError && err.param === 'logprobs');
});
