import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestStack, type TestStack } from '../support/e2e.ts';

/**
 * Large request bodies (64 KiB and more) are parsed, validated and translated one stage per
 * event-loop turn (src/exchange/heavy-work/), and so are their retries. Through the real Envoy
 * and the OpenAI SDK: the answers are those of the in-line path, small requests sent meanwhile
 * are served, and a failover translates the large body afresh for the next provider.
 */
let gw: TestStack;
before(async () => {
  gw = await startTestStack();
});
after(async () => {
  await gw?.dispose();
});

/** A long agent conversation, alternating from the user's turn: ~0.5 MB. */
function conversation(turns: number): Array<{ role: 'user' | 'assistant'; content: string }> {
  return Array.from({ length: turns }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `turn ${i} ${'y'.repeat(100)}` }));
}

describe('large requests through the heavy-work queue', () => {
  test('8 large requests and 20 small ones at once: every one answered, large ones translated whole', async () => {
    const client = gw.client();
    const before = gw.sims['anthropic']!.requests!.length;
    const messages = conversation(4001);
    const large = Array.from({ length: 8 }, () => client.chat.completions.create({ model: 'claude-sonnet-4-5', messages }));
    const small = Array.from({ length: 20 }, (_, i) => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `small ${i}` }] }));
    const answers = await Promise.all([...large, ...small]);
    for (const a of answers) assert.equal(a.object, 'chat.completion');
    const sent = gw.sims['anthropic']!.requests!.slice(before);
    assert.equal(sent.length, 8);
    for (const r of sent) assert.equal((r.body as { messages: unknown[] }).messages.length, 4001);
  });

  test('a large request whose first provider fails is translated for the next one (queued retry)', async () => {
    gw.sims['anthropic']!.enqueueFault({ status: 500 });
    const before = gw.sims['gemini']!.requests!.length;
    const answer = await gw.client().chat.completions.create({ model: 'chat-default', messages: conversation(3001) });
    assert.equal(answer.object, 'chat.completion');
    const sent = gw.sims['gemini']!.requests!.slice(before);
    assert.equal(sent.length, 1);
    // Gemini's format: one content per turn, the gateway's translation, not the caller's bytes.
    assert.equal((sent[0]!.body as { contents: unknown[] }).contents.length, 3001);
  });

  test('a large body the schema refuses is a 400 naming the parameter', async () => {
    const { status, json } = await gw.postChat(JSON.stringify({ model: 'claude-sonnet-4-5', messages: conversation(2001), temperature: 'warm' }));
    assert.equal(status, 400);
    assert.equal(json.error.type, 'invalid_request_error');
    assert.equal(json.error.param, 'temperature');
  });
});
