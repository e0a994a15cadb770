import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ContentCapture } from '../../src/observability/content-capture.ts';
import type { ChatRequest } from '../../src/openai/chat-request.ts';

const settings = { teams: ['support'], maxChars: 40 };
const chunk = (content: string) => `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content } }] })}\n\n`;

describe('ContentCapture (observability.requestLog.content)', () => {
  it('only for the teams listed', () => {
    assert.ok(ContentCapture.for(settings, 'support'));
    assert.equal(ContentCapture.for(settings, 'demo'), undefined);
    assert.equal(ContentCapture.for(settings, undefined), undefined);
  });

  it('the prompt: one role: text line per message, parts named, bounded, credentials scrubbed', () => {
    const c = new ContentCapture(100);
    const req = {
      model: 'm',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: [{ type: 'text', text: 'my key is sk-abcdefghijklmnop1234' }, { type: 'image_url', image_url: { url: 'data:,' } }] },
      ],
    } as unknown as ChatRequest;
    assert.equal(c.prompt(req), 'system: Be brief.\nuser: my key is [redacted] [image_url]');
    const long = new ContentCapture(10).prompt({ model: 'm', messages: [{ role: 'user', content: 'x'.repeat(50) }] } as unknown as ChatRequest);
    assert.equal(long, 'user: xxxx…[truncated]');
  });

  it('a host name or key straddling the cut is scrubbed whole, no fragment kept', () => {
    const prompt = (maxChars: number, text: string): string | undefined =>
      new ContentCapture(maxChars).prompt({ model: 'm', messages: [{ role: 'user', content: text }] } as unknown as ChatRequest);
    // 'user: connect to db1.internal.corp now': the cut at 22 falls inside the host name.
    assert.equal(prompt(22, 'connect to db1.internal.corp now'), 'user: connect to [reda…[truncated]');
    assert.doesNotMatch(prompt(30, 'my key is sk-abcdefghijklmnop1234 ok')!, /sk-|abcdefgh/);
  });

  it('a stream\'s completion: delta.content joined across chunks split anywhere; [DONE] and error events add nothing', () => {
    const c = new ContentCapture(40);
    const sse = chunk('Hello') + chunk(', world') + 'data: {"error":{"message":"x"}}\n\n' + 'data: [DONE]\n\n';
    for (let i = 0; i < sse.length; i += 7) c.pushStream(sse.slice(i, i + 7));
    assert.equal(c.completionText(), 'Hello, world');
    const cut = new ContentCapture(5);
    cut.pushStream(chunk('abcdefgh') + chunk('more'));
    assert.equal(cut.completionText(), 'abcde…[truncated]');
  });

  it('a JSON answer\'s completion: the message text; no text, no field', () => {
    const c = new ContentCapture(40);
    c.pushBody(JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content: 'Blue.' } }] }));
    assert.equal(c.completionText(), 'Blue.');
    const none = new ContentCapture(40);
    none.pushBody('not json');
    assert.equal(none.completionText(), undefined);
  });
});
