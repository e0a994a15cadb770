import { test } from 'node:test';
import assert from 'node:assert/strict';
import { geminiDialect } from '../../../src/dialects/gemini/index.ts';
import { mintToolCallId, PLACEHOLDER_THOUGHT_SIGNATURE, thoughtSignatureFromId } from '../../../src/dialects/gemini/tool-call-ids.ts';
import { readFileSync } from 'node:fs';
import { geminiBody, responseCtx, wireBytes, wireJson } from './support.ts';

// Thought signatures ride statelessly inside minted tool-call ids (README 5.5).

const ANTHROPIC_ID = /^[a-zA-Z0-9_-]+$/;

test('round trip: generate_function_call.json → tool call id → next request carries the same thoughtSignature', () => {
  const fixture = wireJson('gemini/generate_function_call.json') as {
    candidates: Array<{ content: { parts: Array<{ thoughtSignature: string }> } }>;
  };
  const signature = fixture.candidates[0]?.content.parts[0]?.thoughtSignature;
  assert.ok(signature);

  const { completion } = geminiDialect.parseResponse(wireBytes('gemini/generate_function_call.json'), responseCtx);
  const call = completion.choices[0]?.message.tool_calls?.[0];
  assert.ok(call);
  assert.match(call.id, ANTHROPIC_ID);

  // The caller replays the assistant turn (as the OpenAI SDK does) and answers the call.
  const next = geminiBody({
    model: 'support-default',
    messages: [
      { role: 'user', content: "What's the weather like in Paris right now?" },
      { role: 'assistant', content: null, tool_calls: [call] },
      { role: 'tool', tool_call_id: call.id, content: '{"temperature":18}' },
    ],
  }) as { contents: Array<{ role: string; parts: Array<Record<string, unknown>> }> };
  assert.deepEqual(next.contents[1], {
    role: 'model',
    parts: [{ functionCall: { name: 'get_weather', args: { location: 'Paris, France', unit: 'celsius' } }, thoughtSignature: signature }],
  });
  assert.deepEqual(next.contents[2], {
    role: 'user',
    parts: [{ functionResponse: { name: 'get_weather', response: { temperature: 18 } } }],
  });
});

test('ids are fresh, Anthropic-safe, and decode only what was encoded', () => {
  const plain = mintToolCallId();
  assert.match(plain, /^call_[A-Za-z0-9]{24}$/);
  assert.notEqual(mintToolCallId(), plain);
  assert.equal(thoughtSignatureFromId(plain), undefined);
  for (const foreign of ['call_9pXq3fTz1kLm0vBn7RcYw2Ud', 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', 'call_ts_abc', '']) {
    assert.equal(thoughtSignatureFromId(foreign), undefined, foreign);
  }
  for (const sig of ['AA==', 'AAA=', 'AAAA', '+/+/', 'EskgCsYgAb4+9vtF7/x=', 'a-b_']) {
    const id = mintToolCallId(sig);
    assert.match(id, ANTHROPIC_ID);
    const back = thoughtSignatureFromId(id) ?? '';
    assert.deepEqual(Buffer.from(back, 'base64'), Buffer.from(sig, 'base64'), sig);
  }
  assert.equal(thoughtSignatureFromId(mintToolCallId('AA==')), 'AA==');
  // Not base64: carried nowhere rather than corrupted.
  for (const bad of ['not base64!', 'A', 'AAAAA', '']) {
    assert.match(mintToolCallId(bad), /^call_[A-Za-z0-9]{24}$/);
  }
});

type Contents = { contents: Array<{ role: string; parts: Array<Record<string, unknown>> }> };
const caseJson = (file: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../fixtures/cases/gemini-foreign-tool-call/${file}`, import.meta.url), 'utf8'));

// Issue 7 item 4, ../shared/cases/gemini-foreign-tool-call: turns the gateway did not mint.
for (const [file, id] of [
  ['request-client-ids.json', 'call_local_1'],
  ['request-after-failover.json', 'toolu_01AbCdEfGh'],
] as const) {
  test(`cases/gemini-foreign-tool-call/${file}: the ${id} call gets Google's placeholder signature`, () => {
    const body = geminiBody(caseJson(file)) as Contents;
    assert.equal(body.contents[1]?.role, 'model');
    assert.equal(body.contents[1]?.parts[0]?.thoughtSignature, PLACEHOLDER_THOUGHT_SIGNATURE);
    assert.equal(body.contents[1]?.parts.length, 1);
  });
}

test('minted signatures stay exact; each step without one gets the placeholder on its first call only', () => {
  const minted = mintToolCallId('EskgCsYgAb4+9vtF7/x=');
  const call = (id: string, name: string) => ({ id, type: 'function', function: { name, arguments: '{}' } });
  const turns = geminiBody({
    model: 'm',
    messages: [
      { role: 'user', content: 'Plan a trip' },
      // Gemini 3 signs only the first of parallel calls: the second keeps no signature.
      { role: 'assistant', content: null, tool_calls: [call(minted, 'a'), call('call_b', 'b')] },
      { role: 'tool', tool_call_id: minted, content: '1' },
      { role: 'tool', tool_call_id: 'call_b', content: '2' },
      // A later step from another provider (failover): foreign ids, no signature.
      { role: 'assistant', content: 'Next.', tool_calls: [call('toolu_01XyZ', 'c'), call('toolu_02XyZ', 'd')] },
      { role: 'tool', tool_call_id: 'toolu_01XyZ', content: '3' },
      { role: 'tool', tool_call_id: 'toolu_02XyZ', content: '4' },
    ],
  }) as Contents;
  const signatures = turns.contents.map((c) => c.parts.map((p) => p['thoughtSignature']));
  assert.deepEqual(signatures, [
    [undefined],
    ['EskgCsYgAb4+9vtF7/x=', undefined],
    [undefined, undefined],
    [undefined, PLACEHOLDER_THOUGHT_SIGNATURE, undefined],
    [undefined, undefined],
  ]);
});
